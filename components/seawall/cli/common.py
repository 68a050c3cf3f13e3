"""What every command shares: the Typer app, one-line errors, the common options and output helpers."""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from seawall.errors import UserError

if TYPE_CHECKING:
    from rich.console import Console

    from seawall.catalog.load import ProgressCallback
    from seawall.preview.plan import PreparedPlan

# Piped output goes to programs and files, not to an 80-column screen: never wrap it, so ids stay whole.
UNWRAPPED_WIDTH = 1_000_000

# True in the seawall process (seawall.cli.main), False when a test or a program runs a command in its own process.
WHOLE_PROCESS = False

# The collector's thresholds while a command works (Python's are 700, 10, 10). A command builds plans and
# packet models of 100,000s of objects, none of them cyclic garbage; collecting every 700 allocations walked
# them again and again (40% of a diff of two 50,000-rule plans, bench/diff). Cyclic garbage still goes.
WORK_COLLECTION = (50_000, 20, 20)


def collect_for_work() -> None:
    """The collector policy of a command's own work (see :data:`WORK_COLLECTION`)."""
    gc.set_threshold(*WORK_COLLECTION)


def import_for_work(*modules: str) -> None:
    """Import what a command's work will import, before the work, under the process's collector policy.

    The collector is paused while the modules are imported (a provider SDK builds a million
    objects and would be walked over and over); in the seawall process what was imported is
    then frozen, never walked again (see :func:`seawall.cli.main`). In another process the
    collector is left as it was found and nothing is frozen.
    """
    from importlib import import_module

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for module in modules:
            import_module(module)
    finally:
        if WHOLE_PROCESS:
            gc.freeze()
        if was_enabled:
            gc.enable()


class _StdoutClosed(Exception):
    """The reader of stdout went away (``seawall … | head``); deliberately not an OSError (see SeawallTyper)."""


class _GuardedStdout:
    """``sys.stdout``, except that a closed pipe raises :class:`_StdoutClosed` instead of BrokenPipeError."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            raise _StdoutClosed from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            raise _StdoutClosed from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class SeawallTyper(typer.Typer):
    """The Typer app; a reader that stops reading (``seawall … | head``) ends the command quietly with exit 0.

    click turns a BrokenPipeError into exit 1 and rich into SystemExit(1), and Python reports a
    failed final flush: so stdout is wrapped to raise an exception neither of them catches.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if sys.stdout is not None and not isinstance(sys.stdout, _GuardedStdout):
            sys.stdout = _GuardedStdout(sys.stdout)
        try:
            try:
                return super().__call__(*args, **kwargs)
            finally:
                if sys.stdout is not None:
                    sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        except _StdoutClosed:
            # Python's advice (library/signal, "Note on SIGPIPE"): point stdout at /dev/null before exiting.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ is not None else 1)
            raise SystemExit(0) from None


app = SeawallTyper(
    name="seawall",
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    help="Mail-security vendor port requirements as AWS and Azure firewalls, traceable to the document rows.",
)


class _LazyConsole:
    """stderr's rich console, made on first use: a command that prints nothing there never imports rich."""

    def __init__(self) -> None:
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
        return getattr(self._console, name)


err_console: Console = _LazyConsole()  # type: ignore[assignment]


def out_console() -> Console:
    """The console for tables on stdout: the terminal's width on a terminal, never wrapped when piped."""
    from rich.console import Console

    console = Console(emoji=False, highlight=False)
    if not console.is_terminal:
        console.width = UNWRAPPED_WIDTH
    return console


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a UserError into one line on stderr and exit code 2; so is a cloud SDK whose extra is not installed."""
    try:
        yield
    except UserError as exc:
        err_console.print(f"seawall: error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except ModuleNotFoundError as exc:
        from seawall.extras import missing_extra

        error = missing_extra(exc)
        if error is None:
            raise
        err_console.print(f"seawall: error: {error}", markup=False, soft_wrap=True)
        raise typer.Exit(error.exit_code) from None


@contextmanager
def progress_bar(after: float = 0.5) -> Iterator[ProgressCallback | None]:
    """A progress callback that draws a bar on stderr once work has taken ``after`` seconds; None when piped.

    Only a terminal gets a bar (piped or redirected stderr stays silent), and only long work: the
    bar appears late, so a quick command never flickers. It is cleared when the work ends.
    """
    if not sys.stderr.isatty():
        yield None
        return
    import time

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    started = time.monotonic()
    shown: list[tuple[Progress, TaskID]] = []

    def report(what: str, done: int, total: int) -> None:
        if not shown:
            if time.monotonic() - started < after:
                return
            console = Console(stderr=True)
            bar = Progress(
                TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=True
            )
            bar.start()
            shown.append((bar, bar.add_task(what, total=total)))
        bar, task = shown[0]
        bar.update(task, description=what, completed=done, total=total)

    try:
        yield report
    finally:
        if shown:
            shown[0][0].stop()


def write_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_lines(lines: list[str]) -> None:
    """Plain lines on stdout, never wrapped or marked up."""
    out = out_console()
    for line in lines:
        out.print(line, markup=False, soft_wrap=True)


class Lang(StrEnum):
    en = "en"
    ja = "ja"


class Cloud(StrEnum):
    aws = "aws"
    azure = "azure"
    both = "both"

    def expand(self) -> list[Cloud]:
        return [Cloud.aws, Cloud.azure] if self is Cloud.both else [self]


class ViewFormat(StrEnum):
    table = "table"
    json = "json"


CatalogDirOption = Annotated[
    Path | None,
    typer.Option(
        "--catalog", help="Catalogue directory (default: the catalogue shipped with seawall).", show_default=False
    ),
]


def project_stacks_dir(start: Path | None = None) -> Path | None:
    """Where the Pulumi project around ``start`` (the working directory) keeps its ``Pulumi.<stack>.yaml`` files.

    As Pulumi finds them: the project is the nearest directory at or above ``start`` holding
    ``Pulumi.yaml``; its ``stackConfigDir``, else the project directory itself. None outside a project.
    Relative to the working directory when below it, so that messages name ``stacks/Pulumi.x.yaml``.
    """
    from seawall.addresses.lock import find_project
    from seawall.stack import stack_config_dir

    here = (start or Path.cwd()).resolve()
    project = find_project(here)
    if project is None:
        return None
    folder = stack_config_dir(project).resolve()
    try:
        return folder.relative_to(Path.cwd().resolve()) if folder != Path.cwd().resolve() else Path(".")
    except ValueError:
        return folder


def _stacks_dir(ctx: typer.Context, param: typer.CallbackParam, value: Path) -> Path:
    """``--stacks-dir`` when given; otherwise the project's ``stackConfigDir`` (as Pulumi reads it), else ./stacks."""
    source = ctx.get_parameter_source(param.name) if param.name else None
    if getattr(source, "name", None) != "DEFAULT":  # given on the command line (or by environment)
        return value
    with user_errors():  # an unreadable Pulumi.yaml is one line too
        found = project_stacks_dir()
    return found if found is not None else value


stacks_dir_default = _stacks_dir  # for commands whose --stacks-dir says something of its own

StacksDirOption = Annotated[
    Path,
    typer.Option(
        "--stacks-dir",
        help="Directory holding Pulumi.<stack>.yaml files (default: stackConfigDir of the Pulumi project here, "
        "else ./stacks).",
        callback=_stacks_dir,
        show_default=False,
    ),
]


def prepare_stack_plan(
    stack: str, stacks_dir: Path, catalog_dir: Path | None, lock: Path | None = None
) -> PreparedPlan:
    """A stack read and compiled for its plan, as the plan-running commands (plan, check, conformance) do it.

    The catalogue loads under a progress bar (a terminal only); then the stack's provider SDK,
    which the program will need, is imported under the process's collector policy
    (:func:`import_for_work`). Every config error is raised here, before anything is planned.
    """
    from seawall.preview.plan import prepare_plan

    with progress_bar() as progress:
        prepared = prepare_plan(stack, stacks_dir, catalog_dir, lock, progress)
    import_for_work(f"seawall.{prepared.compiled.config.settings.cloud}.component")
    return prepared
