"""The bench/ scripts still start: they import the library's current names and parse their options.

They are run by hand (their figures are in the README's performance section), so nothing
else would notice a name they use leaving the library. ruff lints them (extend-include).
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO

SCRIPTS = sorted(p.name for p in (REPO / "bench").iterdir() if p.is_file() and not p.name.startswith("."))


def test_every_script_is_listed() -> None:
    assert SCRIPTS == ["diff", "plan", "resolve", "rules", "scale", "yaml"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_bench_script_starts_and_explains_itself(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout and "--" in done.stdout
