"""The seawall stack program: read config once, validate it, build the components, export ids.

``stacks/__main__.py`` calls :func:`run`; so does ``seawall plan`` under the
Pulumi SDK's mock monitor, so the offline plan is the real program's output.
A plan has already compiled the stack (with file:line errors) and hands that
compilation in through :func:`planning`; the program then renders it once and
hands back the spec it declared, so nothing is compiled or rendered twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from seawall.addresses.lock import project_dir
from seawall.aws.render import AwsSpec
from seawall.azure.render import AzureSpec
from seawall.catalog.load import load_catalog
from seawall.errors import UserError
from seawall.project import read_project
from seawall.stack import CompiledStack, StackFiles, compile_config, render_aws_stack, render_azure_stack
from seawall.stackconfig import parse_config


@dataclass
class Build:
    """What one run of the program compiled and declared."""

    compiled: CompiledStack
    spec: AwsSpec | AzureSpec


@dataclass
class _Session:
    prepared: CompiledStack | None
    builds: list[Build] = field(default_factory=list)


_SESSION: _Session | None = None


@contextmanager
def planning(prepared: CompiledStack | None) -> Iterator[list[Build]]:
    """Run the program with ``prepared`` as its compilation; yields the builds it makes."""
    global _SESSION
    outer, _SESSION = _SESSION, _Session(prepared)
    try:
        yield _SESSION.builds
    finally:
        _SESSION = outer


def pulumi_config() -> dict[str, Any]:
    """Every config value of the running stack, JSON-decoded where Pulumi stored structure as JSON."""
    from pulumi.runtime.config import CONFIG, get_config_env

    raw: dict[str, Any] = {**get_config_env(), **CONFIG.get()}
    return {key: _decode(value) for key, value in sorted(raw.items())}


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, dict | list | bool | int | float) else value


def run(stacks_dir: Path, catalog_dir: Path | None = None) -> None:
    """Build the firewall of the current stack; a bad config stops the program with one line."""
    try:
        _build(stacks_dir, catalog_dir)
    except UserError as exc:
        raise pulumi.RunError(str(exc)) from None


def _compile(stacks_dir: Path, catalog_dir: Path | None) -> CompiledStack:
    """The stack compiled from its config and the project's files, read as a component's inputs are.

    The lock and the priority pins are read by :func:`seawall.project.read_project`, the helper
    that reads them into ``lock`` / ``priorities`` for a component; then compiled from those.
    """
    stack = pulumi.get_stack()
    if _SESSION is not None and _SESSION.prepared is not None and _SESSION.prepared.config.stack == stack:
        return _SESSION.prepared
    config = parse_config(stack, pulumi_config())
    files = StackFiles(stack, stacks_dir, catalog_dir)
    settings = config.settings
    project = project_dir(stacks_dir)
    named = settings.lock_file or None
    if named is not None and settings.addresses == "lock" and not (project / named).exists():
        raise UserError(
            config.where(["lockFile"]),
            f"{project / named}: no such IP-set lock; valid: a lock written by seawall resolve",
        )
    found = read_project(
        settings.cloud,
        stack=stack,
        project=project,
        lock_file=named,
        stacks_dir=stacks_dir,
        read_lock_file=settings.addresses == "lock",
    )
    no_lock = (
        f"no IP-set lock ({found.lock_path.name} in the project): vendor services use only the addresses "
        "the documents print (run seawall resolve, or set seawall:addresses: documented to say so)"
    )
    catalog = load_catalog(files.catalog_dir)
    return compile_config(config, catalog, found.priorities, None, False, None, found.lock, no_lock)


def _build(stacks_dir: Path, catalog_dir: Path | None) -> None:
    compiled = _compile(stacks_dir, catalog_dir)
    config = compiled.config
    for notice in compiled.flows.notices:
        if notice.warning:
            pulumi.log.warn(f"{notice.subject}: {notice.text}")
    spec: AwsSpec | AzureSpec
    if config.settings.cloud == "aws":
        from seawall.aws.component import AwsFirewallFromSpec  # only this cloud's SDK: the other costs 0.3-0.5 s

        spec = render_aws_stack(compiled)
        aws_firewall = AwsFirewallFromSpec(config.name_prefix, {"spec": spec})
        pulumi.export("securityGroupIds", aws_firewall.security_group_ids)
        pulumi.export("prefixListIds", aws_firewall.prefix_list_ids)
    else:
        from seawall.azure.component import AzureFirewallFromSpec

        spec = render_azure_stack(compiled)
        azure_firewall = AzureFirewallFromSpec(config.name_prefix, {"spec": spec})
        pulumi.export("nsgIds", azure_firewall.nsg_ids)
        pulumi.export("asgIds", azure_firewall.asg_ids)
    if _SESSION is not None:
        _SESSION.builds.append(Build(compiled, spec))
