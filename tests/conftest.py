"""Shared fixtures: the shipped catalogue, the vendor seed documents, a CLI runner."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from seawall.catalog import Catalog, load_catalog
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
CATALOG_DIR = REPO / "catalog"


def seeds_dir() -> Path:
    return Path(os.environ.get("SEAWALL_SEEDS", REPO.parent / "shared" / "seeds"))


def normalise(text: str) -> str:
    """Collapse whitespace and drop HTML tags, as catalogue rows are written."""
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(CATALOG_DIR)


@pytest.fixture(scope="session")
def seeds() -> dict[str, str]:
    """Seed text per product, from $SEAWALL_SEEDS or ../shared/seeds beside the repository.

    Absent there, the tests that need them skip and say where they looked and how to point
    them elsewhere; a $SEAWALL_SEEDS that names no documents fails instead (a typo must not
    pass as a skip).
    """
    root = seeds_dir()
    explicit = "SEAWALL_SEEDS" in os.environ
    wanted = {name: product.document.seed for name, product in load_catalog(CATALOG_DIR).products.items()}
    missing = sorted(seed for seed in wanted.values() if not (root / seed).is_file())
    if missing:
        where = "$SEAWALL_SEEDS" if explicit else "the default, ../shared/seeds beside the repository"
        why = (
            f"vendor documents not found: {', '.join(missing)} not in {root} ({where}); "
            "to run the provenance tests, set SEAWALL_SEEDS=/path/to/the/seed/documents"
        )
        if explicit:
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    return {name: (root / seed).read_text(encoding="utf-8") for name, seed in wanted.items()}


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite tests/golden/ from the current renderers instead of comparing.",
    )


@pytest.fixture()
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
