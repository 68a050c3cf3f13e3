"""Running the real ``seawall`` command in a child process under an address-space limit, measuring what it cost.

The child sets ``RLIMIT_AS`` (``resource.setrlimit``) before importing seawall, runs the
command line exactly as the ``seawall`` script does, and reports its exit code, the
seconds the command took and its peak resident memory (``VmHWM``) to a side file,
so stdout and stderr are the command's own. A command that needs more memory than the
limit ends in a ``MemoryError`` there (a traceback and exit 1), which the checks see.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

_CHILD = r"""
import json, resource, sys, time
limit, report, *argv = sys.argv[1:]
if int(limit):
    resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))
sys.argv = ["seawall", *argv]
code = 0
started = time.perf_counter()
try:
    from seawall.cli import main
    main()
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
except BaseException:
    import traceback
    traceback.print_exc()
    code = 1
finally:
    seconds = time.perf_counter() - started
    # VmHWM: this process's own high-water mark (ru_maxrss would count the parent's size at fork).
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    peak = int(status["VmHWM"].split()[0]) * 1024
    with open(report, "w") as out:
        json.dump({"code": code, "seconds": seconds, "peak": peak}, out)
sys.exit(code)
"""


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float  # the command, imports included, interpreter start excluded
    peak: int  # bytes of peak resident memory

    @property
    def one_line_error(self) -> bool:
        """Exit 2, nothing on stdout, exactly one line on stderr, and that line is seawall's."""
        lines = self.stderr.splitlines()
        return self.code == 2 and self.stdout == "" and len(lines) == 1 and lines[0].startswith("seawall: error: ")


def run_seawall(args: list[str], limit: int = 0, cwd: Path | None = None, timeout: float = 300) -> Outcome:
    """``seawall *args`` in a child under an address-space limit of ``limit`` bytes (0: none)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(limit), str(report), *args],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=timeout,
            check=False,
        )
        measured = json.loads(report.read_text()) if report.exists() else {"seconds": -1.0, "peak": -1}
    return Outcome(done.returncode, done.stdout, done.stderr, measured["seconds"], measured["peak"])
