"""Your project's files as a component's inputs: the IP-set lock's content and Azure's priority pins.

A component opens no file (it may run in a plugin whose working directory is not
your project). :func:`project_inputs` reads the files for a Python program::

    AwsFirewall("mail", {**args, **project_inputs("aws")})
    AzureFirewall("mail", {**args, **project_inputs("azure")})

Other languages read the same files themselves (TypeScript ``readFileSync``, Pulumi
YAML ``fn::readFile``). The shipped stack program reads its stack's files here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from seawall.addresses.lock import LOCK_NAME, PROJECT_FILES, Lock, find_project, read_lock
from seawall.errors import UserError
from seawall.stack import read_priority_lock, stack_config_dir

Cloud = Literal["aws", "azure"]


@dataclass(frozen=True)
class ProjectFiles:
    """What :func:`read_project` found: the lock (its text and its reading) and the pins, each maybe absent."""

    lock_path: Path
    lock_text: str | None
    lock: Lock | None
    priorities_path: Path | None
    priorities: dict[str, dict[str, dict[str, int]]] | None
    priorities_text: str | None = None

    def inputs(self) -> dict[str, str]:
        """The components' inputs: each file's text, as TypeScript's readFileSync or YAML's fn::readFile give it."""
        out: dict[str, str] = {}
        if self.lock_text is not None:
            out["lock"] = self.lock_text
        if self.priorities_text is not None:
            out["priorities"] = self.priorities_text
        return out


def running_project() -> Path:
    """The running Pulumi program's project directory (where ``Pulumi.yaml`` is), else the one above the cwd."""
    try:
        import pulumi

        root = pulumi.get_root_directory()
    except Exception:
        root = None
    if root and any((Path(root) / name).is_file() for name in PROJECT_FILES):
        return Path(root)
    return find_project(Path.cwd()) or Path.cwd()


def read_project(
    cloud: Cloud,
    *,
    stack: str | None = None,
    project: str | Path | None = None,
    lock_file: str | Path | None = None,
    stacks_dir: str | Path | None = None,
    priorities_file: str | Path | None = None,
    read_lock_file: bool = True,
) -> ProjectFiles:
    """Read the project's lock and (Azure) pins. A file you name must exist; the defaults may be absent.

    ``lock_file`` is relative to ``project`` (default ``ipsets.lock.json`` there); the pins are
    ``priorities_file``, else ``<stacks_dir>/<stack>.priorities.json`` with ``stacks_dir`` the
    project's ``stackConfigDir`` (where its ``Pulumi.<stack>.yaml`` files are).
    """
    root = Path(project) if project is not None else running_project()
    lock_path = root / (lock_file or LOCK_NAME)
    lock_text: str | None = None
    lock: Lock | None = None
    if read_lock_file and (lock_file is not None or lock_path.exists()):
        if not lock_path.is_file():
            raise UserError(str(lock_path), "no such IP-set lock; valid: a lock written by seawall resolve")
        lock = read_lock(lock_path)  # bounded and validated, errors as file:line
        lock_text = lock.text
    pins_path: Path | None = None
    pins = None
    pins_text: str | None = None
    if cloud == "azure":
        if priorities_file is not None:
            pins_path = root / priorities_file
            if not pins_path.is_file():
                raise UserError(
                    str(pins_path), "no such priority pins file; valid: seawall priorities --write makes one"
                )
        else:
            if stack is None:
                import pulumi

                stack = pulumi.get_stack()
            folder = Path(stacks_dir) if stacks_dir is not None else stack_config_dir(root)
            pins_path = folder / f"{stack}.priorities.json"
        found = read_priority_lock(pins_path)  # bounded and validated, errors as file:line
        if found is not None:
            pins = {r: {d: dict(n) for d, n in dirs.items()} for r, dirs in found.items()}
            pins_text = pins_path.read_text(encoding="utf-8")
    return ProjectFiles(lock_path, lock_text, lock, pins_path, pins, pins_text)


def project_inputs(
    cloud: Cloud,
    *,
    stack: str | None = None,
    project: str | Path | None = None,
    lock_file: str | Path | None = None,
    priorities_file: str | Path | None = None,
) -> dict[str, str]:
    """The inputs ``AwsFirewall`` / ``AzureFirewall`` take from your project's files: ``{"lock": ..., "priorities": ...}``.

    Each is the file's text, checked as it is read. Only what exists is returned (a file you name must exist): the IP-set lock's text from
    ``<project>/ipsets.lock.json`` (or ``lock_file``, relative to the project), and for Azure the
    priority pins ``<stackConfigDir>/<stack>.priorities.json`` (or ``priorities_file``). The
    project defaults to the running Pulumi program's; the stack to the running stack.
    A file that is missing or malformed stops the program with one line naming it.
    """
    import pulumi

    try:
        found = read_project(cloud, stack=stack, project=project, lock_file=lock_file, priorities_file=priorities_file)
    except UserError as exc:
        raise pulumi.RunError(str(exc)) from None
    return found.inputs()
