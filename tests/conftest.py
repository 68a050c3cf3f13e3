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
    """Seed text per product, read from ../shared/seeds (skipped where it is absent)."""
    root = seeds_dir()
    if not root.is_dir():
        pytest.skip(f"vendor seed documents not found at {root} (set SEAWALL_SEEDS)")
    cat = load_catalog(CATALOG_DIR)
    return {name: (root / product.document.seed).read_text(encoding="utf-8") for name, product in cat.products.items()}


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
