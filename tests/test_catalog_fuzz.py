"""Property: any mutation of a real catalogue either loads or fails as a one-line file:line error."""

from __future__ import annotations

import io
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from conftest import CATALOG_DIR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from seawall.catalog import load_catalog
from seawall.errors import CatalogError

TEXT = (CATALOG_DIR / "clearswift-seg.yaml").read_text(encoding="utf-8")
DATA = YAML(typ="safe").load(TEXT)
ERROR = re.compile(r"^\S*clearswift-seg\.yaml:\d+: \S.*$")


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += paths(value, (*prefix, index))
    return out


PATHS = paths(DATA)[1:]
SCALARS = st.one_of(
    st.integers(min_value=-(2**20), max_value=2**20),
    st.text(max_size=12),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(min_value=-5, max_value=70000), max_size=3),
    st.dictionaries(st.sampled_from(["service", "site", "host", "kind", "x"]), st.text(max_size=6), max_size=2),
)


def mutate(data: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    import copy

    tree = copy.deepcopy(data)
    parent = tree
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "replace":
        parent[last] = value
    elif action == "unknown-key" and isinstance(parent[last], dict):
        parent[last]["surprise"] = value
    elif action == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    else:
        parent[last] = value
    return tree


def check(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for other in CATALOG_DIR.glob("*.yaml"):
            if other.name != "clearswift-seg.yaml":
                shutil.copy(other, directory / other.name)
        (directory / "clearswift-seg.yaml").write_text(text, encoding="utf-8")
        try:
            load_catalog(directory)
        except CatalogError as exc:
            message = str(exc)
            assert "\n" not in message, message
            assert ERROR.match(message), message


FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    path=st.sampled_from(PATHS),
    action=st.sampled_from(["delete", "replace", "unknown-key", "duplicate"]),
    value=SCALARS,
)
def test_structural_mutations_load_or_fail_cleanly(path: tuple[Any, ...], action: str, value: Any) -> None:
    buffer = io.StringIO()
    YAML(typ="safe").dump(mutate(DATA, path, action, value), buffer)
    check(buffer.getvalue())


@FUZZ
@given(position=st.integers(min_value=0, max_value=len(TEXT) - 1), junk=st.text(min_size=1, max_size=4))
def test_textual_mutations_load_or_fail_cleanly(position: int, junk: str) -> None:
    check(TEXT[:position] + junk + TEXT[position + 1 :])
