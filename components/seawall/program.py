"""The seawall stack program: read config once, validate it, build the components, export ids.

``stacks/__main__.py`` calls :func:`run`; so does ``seawall plan`` under the
Pulumi SDK's mock monitor, so the offline plan is the real program's output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi

from seawall.catalog.load import load_catalog
from seawall.errors import UserError
from seawall.stack import (
    compile_config,
    lock_path_for,
    priority_lock_path,
    read_priority_lock,
    render_aws_stack,
    render_azure_stack,
)
from seawall.stackconfig import parse_config


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


def _build(stacks_dir: Path, catalog_dir: Path | None) -> None:
    from seawall.components import AwsFirewall, AzureFirewall

    stack = pulumi.get_stack()
    config = parse_config(stack, pulumi_config())
    priorities = read_priority_lock(priority_lock_path(stacks_dir, stack))
    compiled = compile_config(
        config, load_catalog(catalog_dir), priorities, lock_path_for(config, stacks_dir, catalog_dir)
    )
    for notice in compiled.flows.notices:
        if notice.warning:
            pulumi.log.warn(f"{notice.role} {notice.entry}: {notice.text}")
    if config.settings.cloud == "aws":
        aws_firewall = AwsFirewall(config.name_prefix, {"spec": render_aws_stack(compiled)})
        pulumi.export("securityGroupIds", aws_firewall.security_group_ids)
        pulumi.export("prefixListIds", aws_firewall.prefix_list_ids)
    else:
        azure_firewall = AzureFirewall(config.name_prefix, {"spec": render_azure_stack(compiled)})
        pulumi.export("nsgIds", azure_firewall.nsg_ids)
        pulumi.export("asgIds", azure_firewall.asg_ids)
