"""Golden files: the flows and cloud specification of every shipped stack, byte for byte.

Regenerate only on purpose: ``pytest tests/test_golden.py --update-golden``, then
review the diff like any other change to the firewall.
"""

from __future__ import annotations

import json

import pytest
from builders import SHIPPED, aws, azure, shipped
from conftest import REPO
from seawall.report.flows import flows_json

GOLDEN = REPO / "tests" / "golden"


def rendered(stack_name: str) -> str:
    stack = shipped(stack_name)
    spec = aws(stack) if stack.config.settings.cloud == "aws" else azure(stack)
    document = {"flows": flows_json(stack.flows), "spec": spec.to_json()}
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


@pytest.mark.parametrize("stack_name", SHIPPED)
def test_rendering_matches_the_golden_file(stack_name: str, update_golden: bool) -> None:
    path = GOLDEN / f"{stack_name}.json"
    text = rendered(stack_name)
    if update_golden:
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{path.name} differs: review, then pytest --update-golden"


@pytest.mark.parametrize("stack_name", SHIPPED)
def test_rendering_is_deterministic(stack_name: str) -> None:
    assert rendered(stack_name) == rendered(stack_name)
