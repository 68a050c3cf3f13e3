"""The wheel ships every package of the library and the vendor catalogues (pyproject.toml cites this file)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from conftest import REPO

SETUPTOOLS = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_subpackage_is_listed_for_the_wheel() -> None:
    listed = set(SETUPTOOLS["packages"])
    found = {
        ".".join(p.parent.relative_to(REPO / "components").parts) for p in (REPO / "components").rglob("__init__.py")
    }
    assert found - listed == set(), "add these packages to [tool.setuptools] packages in pyproject.toml"
    assert listed - found == {"seawall.vendors"}, "pyproject.toml lists packages that do not exist"


def test_the_shipped_package_carries_the_catalogue() -> None:
    from seawall.catalog import default_catalog_dir

    assert SETUPTOOLS["package-dir"]["seawall.vendors"] == "catalog"
    assert {"*.yaml", "*.json"} <= set(SETUPTOOLS["package-data"]["seawall.vendors"])
    names = {p.name for p in Path(default_catalog_dir()).glob("*.yaml")}
    assert names == {"clearswift-seg.yaml", "clearswift-sxg.yaml", "trendmicro-imss.yaml"}
