"""One stack, end to end: config → flows → the cloud's specification (all pure)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from seawall.catalog.load import Catalog, default_catalog_dir, load_catalog
from seawall.errors import UserError
from seawall.flows import Flows, compile_flows
from seawall.ipsets import IpSets
from seawall.lockfile import LOCK_NAME, ipsets_from_lock, read_lock
from seawall.render.aws import AwsSpec, render_aws
from seawall.render.azure import AzureSpec, PriorityLock, render_azure
from seawall.stackconfig import StackConfig, load_stack_config
from seawall.topology import Topology, available_topologies, load_topology

DEFAULT_STACKS_DIR = Path("stacks")
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


def priority_lock_path(stacks_dir: Path, stack: str) -> Path:
    return stacks_dir / f"{stack}.priorities.json"


def read_priority_lock(path: Path) -> PriorityLock | None:
    """The committed priority lock, or None when the stack has none yet."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
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


def compile_stack(
    stack: str,
    stacks_dir: Path | None = None,
    catalog_dir: Path | None = None,
    catalog: Catalog | None = None,
    lock: Path | None = None,
) -> CompiledStack:
    directory = stacks_dir or DEFAULT_STACKS_DIR
    config = load_stack_config(stack, directory)
    priorities = read_priority_lock(priority_lock_path(directory, stack))
    lock_path = lock or lock_path_for(config, directory, catalog_dir)
    return compile_config(config, catalog or load_catalog(catalog_dir), priorities, lock_path)


def lock_path_for(config: StackConfig, stacks_dir: Path, catalog_dir: Path | None) -> Path:
    """``seawall:lockFile`` (relative to the project, the stacks directory's parent), else the catalogue's lock."""
    if config.settings.lock_file:
        return stacks_dir.resolve().parent / config.settings.lock_file
    return (catalog_dir or default_catalog_dir()) / LOCK_NAME


def compile_config(
    config: StackConfig, catalog: Catalog, priorities: PriorityLock | None = None, lock_path: Path | None = None
) -> CompiledStack:
    """Compile a validated config. Addresses come from the lock at ``lock_path`` (absent: documented only)."""
    if config.settings.topology not in available_topologies():
        valid = ", ".join(available_topologies())
        raise config.error(["topology"], f"unknown topology {config.settings.topology!r}; valid: {valid}")
    topology = load_topology(config.settings.topology, catalog)
    if config.settings.addresses == "lock" and lock_path is not None:
        ipsets = ipsets_from_lock(catalog, read_lock(lock_path))
    else:
        ipsets = IpSets.documented(catalog)
    return CompiledStack(
        config, catalog, topology, ipsets, compile_flows(catalog, topology, config, ipsets), priorities
    )


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
