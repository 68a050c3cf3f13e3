"""One stack, end to end: find its files, then config → flows → the cloud's specification (all pure).

Every caller (``seawall plan``, the stack program, ``resolve``, ``audit``, the
components' users) finds a stack's files with :class:`StackFiles` and compiles
with :func:`compile_stack` or :func:`compile_config`, so a file is looked for in
one way only.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, replace
from pathlib import Path

from seawall.addresses.ipsets import IpSets, ipsets_from_lock
from seawall.addresses.lock import (
    DEFAULT_STACKS_DIR,
    LOCK_NAME,
    PROJECT_FILES,
    Lock,
    default_lock_path,
    project_dir,
    read_lock,
)
from seawall.aws.render import AwsSpec, render_aws
from seawall.azure.render import AzureSpec, PriorityLock, render_azure
from seawall.catalog.load import Catalog, ProgressCallback, load_catalog
from seawall.errors import UserError
from seawall.flows import Flows, Notice, compile_flows
from seawall.stackconfig import StackConfig, load_stack_config, stack_file
from seawall.topology import Topology, available_topologies, load_topology

# Placeholder used only when a stack is rendered for the other cloud (query --cloud both).
OTHER_CLOUD_RESOURCE_GROUP = "(other-cloud)"


@dataclass(frozen=True)
class CompiledStack:
    config: StackConfig
    catalog: Catalog
    topology: Topology
    ipsets: IpSets
    flows: Flows
    priorities: PriorityLock | None = None  # the committed Azure priority lock, when there is one


@dataclass(frozen=True)
class StackFiles:
    """Where one stack's files are: its config, its Azure priority pins, its program and its IP-set lock.

    One rule for every caller (the CLI, the stack program, the components): the
    catalogue is the packaged one unless ``catalog_dir`` replaces it (and nothing
    else); the user's files are in the user's project, :func:`project_dir` (the
    directory holding ``Pulumi.yaml`` above the stacks directory). The priority pins
    sit beside the stack file, ``<stacks>/<stack>.priorities.json``. ``lock``
    overrides the lock (``seawall plan --lock``); otherwise the stack's
    ``seawall:lockFile`` relative to the project, else ``<project>/ipsets.lock.json``.
    """

    stack: str
    stacks_dir: Path = DEFAULT_STACKS_DIR
    catalog_dir: Path | None = None
    lock: Path | None = None

    @property
    def config_file(self) -> Path:
        return stack_file(self.stacks_dir, self.stack)

    @property
    def priorities_file(self) -> Path:
        return priority_lock_path(self.stacks_dir, self.stack)

    @property
    def program_file(self) -> Path:
        return self.stacks_dir / "__main__.py"

    def lock_path(self, config: StackConfig) -> Path:
        if self.lock is not None:
            return self.lock
        if config.settings.lock_file:
            return project_dir(self.stacks_dir) / config.settings.lock_file
        return default_lock_path(stacks_dir=self.stacks_dir)

    def lock_named(self, config: StackConfig) -> bool:
        """A lock the user named (``--lock``, ``seawall:lockFile``) must exist; only the default may be absent."""
        return self.lock is not None or bool(config.settings.lock_file)


def priority_lock_path(stacks_dir: Path, stack: str) -> Path:
    return stacks_dir / f"{stack}.priorities.json"


def stack_config_dir(project: Path) -> Path:
    """Where a Pulumi project keeps its ``Pulumi.<stack>.yaml`` files: ``stackConfigDir``, else the project itself."""
    from seawall.yamlsource import MAX_STACK_FILE_BYTES, display_path, read_yaml

    for name in PROJECT_FILES:
        path = project / name
        if path.is_file():
            # Bounded like every YAML seawall reads: no alias expansion, no unknown tags, a size cap.
            data = read_yaml(path, display_path(path), max_bytes=MAX_STACK_FILE_BYTES).data
            folder = data.get("stackConfigDir") if isinstance(data, dict) else None
            return project / folder if isinstance(folder, str) and folder else project
    return project


def read_priority_lock(path: Path) -> PriorityLock | None:
    """The committed priority lock, or None when the stack has none yet."""
    if not path.is_file():
        return None
    from seawall.azure.pins import read_pins  # bounded and strict: size, nesting, repeated keys, integer priorities

    try:
        data = read_pins(path)
    except (OSError, ValueError) as exc:
        raise UserError(
            str(path), f"unreadable priority lock: {exc}; regenerate it with seawall priorities --write"
        ) from None
    ok = isinstance(data, dict) and all(
        isinstance(dirs, dict)
        and all(isinstance(names, dict) and all(isinstance(p, int) for p in names.values()) for names in dirs.values())
        for dirs in data.values()
    )
    if not ok:
        raise UserError(str(path), "malformed priority lock; valid: {role: {Inbound|Outbound: {rule name: priority}}}")
    return data  # type: ignore[no-any-return]


def priority_lock_text(spec: AzureSpec) -> str:
    """The priority lock a rendered Azure spec pins, as ``seawall priorities --write`` writes it."""
    return json.dumps(spec.priorities(), indent=2, sort_keys=True) + "\n"


def compile_stack(
    stack: str,
    stacks_dir: Path | None = None,
    catalog_dir: Path | None = None,
    catalog: Catalog | None = None,
    lock: Path | None = None,
) -> CompiledStack:
    """Read ``Pulumi.<stack>.yaml`` (errors name file:line) and compile it with the stack's pins and lock."""
    files = StackFiles(stack, stacks_dir or DEFAULT_STACKS_DIR, catalog_dir, lock)
    return compile_files(files, load_stack_config(stack, files.stacks_dir), catalog)


def compile_files(files: StackFiles, config: StackConfig, catalog: Catalog | None = None) -> CompiledStack:
    """Compile an already-read config with the priority pins and the lock that ``files`` locate."""
    priorities = read_priority_lock(files.priorities_file)
    catalog = catalog or load_catalog(files.catalog_dir)
    origin = "--lock" if files.lock is not None else None
    return compile_config(config, catalog, priorities, files.lock_path(config), files.lock_named(config), origin)


def compile_config(
    config: StackConfig,
    catalog: Catalog,
    priorities: PriorityLock | None = None,
    lock_path: Path | None = None,
    lock_named: bool = True,
    lock_origin: str | None = None,
    lock: Lock | None = None,
    no_lock: str | None = None,
) -> CompiledStack:
    """Compile a validated config. Addresses come from the lock at ``lock_path``, validated as it is read.

    A lock that is named (``lock_named``) but missing or unreadable is an error; an
    unnamed default that does not exist means documented addresses only, said in a warning.
    ``lock`` is a lock already read (a component's ``lock`` input): no file is opened. Without
    either, addresses are the documented ones, and ``no_lock`` (if given) is the warning that says so.
    """
    settings = config.settings
    if settings.topology not in available_topologies():
        valid = ", ".join(available_topologies())
        raise config.error(["topology"], f"unknown topology {settings.topology!r}; valid: {valid}")
    topology = load_topology(settings.topology, catalog)
    allow = tuple(ipaddress.ip_network(n) for n in settings.allow_private)
    notices: tuple[Notice, ...] = ()
    if settings.addresses == "lock" and lock is not None:
        ipsets = ipsets_from_lock(catalog, lock, allow)
    elif settings.addresses == "lock" and lock_path is None and no_lock is not None:
        ipsets = IpSets.documented(catalog, allow)
        notices = (Notice("no-lock", "", "", no_lock),)
    elif settings.addresses == "lock" and lock_path is not None:
        if not lock_path.exists() and lock_named:
            where = lock_origin or (config.where(["lockFile"]) if settings.lock_file else "--lock")
            raise UserError(where, f"{lock_path}: no such IP-set lock; valid: a lock written by seawall resolve")
        if lock_path.exists():
            ipsets = ipsets_from_lock(catalog, read_lock(lock_path), allow)
        else:
            ipsets = IpSets.documented(catalog, allow)
            text = (
                f"no IP-set lock ({lock_path.name} in the project): vendor services use only the addresses "
                "the documents print (run seawall resolve, or set seawall:addresses: documented to say so)"
            )
            notices = (Notice("no-lock", "", "", text),)
    else:
        ipsets = IpSets.documented(catalog, allow)
    flows = compile_flows(catalog, topology, config, ipsets)
    if notices:
        flows = replace(flows, notices=tuple(sorted((*flows.notices, *notices))))
    return CompiledStack(config, catalog, topology, ipsets, flows, priorities)


def render_aws_stack(compiled: CompiledStack) -> AwsSpec:
    s = compiled.config.settings
    return render_aws(compiled.flows, s.vpc_id, compiled.config.name_prefix, s.quotas.aws, s.ipv6, s.tags)


def render_azure_stack(compiled: CompiledStack) -> AzureSpec:
    s = compiled.config.settings
    return render_azure(
        compiled.flows,
        s.resource_group_name or OTHER_CLOUD_RESOURCE_GROUP,
        s.location or OTHER_CLOUD_RESOURCE_GROUP,
        compiled.config.name_prefix,
        s.quotas.azure,
        s.ipv6,
        s.tags,
        compiled.priorities,
    )


def render_stack(compiled: CompiledStack) -> AwsSpec | AzureSpec:
    """The specification of the stack's own cloud."""
    if compiled.config.settings.cloud == "aws":
        return render_aws_stack(compiled)
    return render_azure_stack(compiled)


@dataclass(frozen=True)
class StackFit:
    """Whether one stack still compiles and renders within its quotas with a candidate lock."""

    stack: str
    error: str | None  # the one-line error it would stop with; None when it fits


def shipped_stacks(stacks_dir: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))


def fit_stacks(
    stacks_dir: Path,
    catalog_dir: Path | None,
    lock_path: Path,
    lock_text: str,
    progress: ProgressCallback | None = None,
) -> list[StackFit]:
    """Every stack of ``stacks_dir`` that reads ``lock_path``, compiled and rendered against ``lock_text``.

    ``seawall resolve`` asks this before it writes a lock, so a lock that would stop a
    stack from planning is refused there (with the quota message), not found at deploy time.
    ``progress`` is told ``("laying out stacks", done, total)`` per stack of the directory
    (one that reads another lock counts too), from 0 to ``done == total``.
    """
    import tempfile

    out = []
    catalog = load_catalog(catalog_dir)
    stacks = shipped_stacks(stacks_dir)
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / LOCK_NAME
        candidate.write_text(lock_text, encoding="utf-8")
        for done, stack in enumerate(stacks):
            if progress is not None:
                progress("laying out stacks", done, len(stacks))
            files = StackFiles(stack, stacks_dir, catalog_dir)
            try:
                config = load_stack_config(stack, stacks_dir)
                if config.settings.addresses != "lock" or files.lock_path(config).resolve() != lock_path.resolve():
                    continue
                compiled = compile_config(config, catalog, read_priority_lock(files.priorities_file), candidate)
                render_stack(compiled)
            except UserError as exc:
                out.append(StackFit(stack, str(exc).replace(str(candidate), str(lock_path))))
                continue
            out.append(StackFit(stack, None))
    if progress is not None:
        progress("laying out stacks", len(stacks), len(stacks))
    return out
