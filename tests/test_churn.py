"""Names never move: one catalogue change touches only its own rules, on both clouds."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
from builders import aws, azure, shipped, variant
from conftest import CATALOG_DIR
from seawall.catalog import load_catalog
from seawall.records import to_camel
from seawall.stack import CompiledStack

NEW_ENTRY = """
  - id: seg-test-inserted
    host: gateway
    direction: outbound
    protocol: tcp
    ports: [8443]
    peer: {site: syslog-server}
    scope: internal
    features: [syslog]
    purpose:
      en: An entry inserted by the churn test
    source:
      section: Internal Connections
      row: To the central SYSLOG server TCP 514
"""


def rules_by_name(stack: CompiledStack) -> dict[str, dict[str, Any]]:
    """Every rendered rule (both clouds) by a cloud-qualified name."""
    out: dict[str, dict[str, Any]] = {}
    for rule in aws(stack).to_json()["rules"]:
        out[f"aws/{rule['name']}"] = rule
    for role in azure(stack).to_json()["roles"]:
        for rule in role["rules"]:
            out[f"azure/{role['role']}/{rule['name']}"] = rule
    return out


def _dump(settings: Any) -> dict[str, Any]:
    """A stack's settings as a stack file writes them: camelCase keys, unset ones left out."""
    return {to_camel(k): v for k, v in dataclasses.asdict(settings).items() if v is not None}


def as_both_clouds(stack_name: str) -> dict[str, Any]:
    """A shipped AWS stack's config; Azure renders it too, in a placeholder resource group."""
    config = shipped(stack_name).config
    out = {k: v for k, v in _dump(config.settings).items() if k != "quotas"}
    out["peers"] = {name: list(values) for name, values in config.settings.peers.items()}
    return out


def changed(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> set[str]:
    names = before.keys() | after.keys()
    return {n for n in names if before.get(n) != after.get(n)}


def touches(rule: dict[str, Any] | None, entry: str) -> bool:
    return rule is not None and entry in rule.get("entries", [])


def test_inserting_one_entry_changes_only_that_entrys_rules(tmp_path: Path) -> None:
    directory = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, directory, ignore=shutil.ignore_patterns("__init__.py", "*.json", "__pycache__"))
    seg = directory / "clearswift-seg.yaml"
    text = seg.read_text(encoding="utf-8")
    anchor = "  - id: seg-syslog\n"
    seg.write_text(text.replace(anchor, NEW_ENTRY.lstrip("\n") + anchor), encoding="utf-8")
    config = as_both_clouds("dmz-aws")
    baseline = variant(config)
    before = rules_by_name(baseline)
    pins = azure(baseline).priorities()
    after = rules_by_name(dataclasses.replace(variant(config, load_catalog(directory)), priorities=pins))
    diff = changed(before, after)
    assert diff, "the inserted entry must render"
    assert all(touches(after.get(n), "seg-test-inserted") and n not in before for n in diff), sorted(diff)


@pytest.mark.parametrize("stack_name", ["dmz-aws", "mss-distributed-aws"])
def test_removing_any_one_entry_leaves_every_other_rule_untouched(stack_name: str, tmp_path: Path) -> None:
    config = as_both_clouds(stack_name)
    baseline_stack = variant(config)
    baseline = rules_by_name(baseline_stack)
    used = sorted({e for rule in baseline.values() for e in rule.get("entries", [])})
    catalog = load_catalog(CATALOG_DIR)
    product = catalog.products[baseline_stack.flows.product]
    pins = azure(baseline_stack).priorities()  # what `seawall priorities --write` commits
    named = {i for role in baseline_stack.topology.roles.values() for i in (*role.include, *role.exclude)}
    for entry_id in (e for e in used if e not in named):  # the topology names these: removing one edits it too
        reduced = dataclasses.replace(product, entries=tuple(e for e in product.entries if e.id != entry_id))
        smaller = type(catalog)({**catalog.products, product.product: reduced}, catalog.paths)
        after = rules_by_name(dataclasses.replace(variant(config, smaller), priorities=pins))
        for name in changed(baseline, after):
            assert touches(baseline.get(name), entry_id), f"removing {entry_id} moved {name}"


def colliding_names() -> tuple[str, str]:
    """Two rule names that hash to the same home priority (found by search)."""
    from seawall.azure.render import home_priority

    seen: dict[int, str] = {}
    for port in range(1, 5000):
        name = f"in-tcp-{port}-site-x-ipv4"
        home = home_priority(name)
        if home in seen:
            return seen[home], name
        seen[home] = name
    raise AssertionError("no collision found")


def test_hashing_alone_would_move_a_rule_but_a_pinned_rule_never_moves() -> None:
    from seawall.azure.render import assign_priorities

    first, second = sorted(colliding_names())
    both = assign_priorities([first, second])
    assert both[first] != both[second]
    mover = max((first, second), key=lambda n: both[n])  # the one that probed past its home
    stayer = first if mover == second else second
    assert assign_priorities([mover])[mover] != both[mover]  # alone, it would take its home back
    assert assign_priorities([mover], pinned=both)[mover] == both[mover]  # pinned, it stays
    newcomer = assign_priorities([stayer, mover], pinned={mover: both[mover]})
    assert newcomer[mover] == both[mover]
