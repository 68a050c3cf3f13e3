"""Exports of a stack's rendered firewall for other engines (pure: no Pulumi, no network)."""

from __future__ import annotations

from seawall.export.terraform import (
    EXPORT_FILES,
    PROVIDER_PINS,
    ProviderPin,
    TerraformExport,
    check_export,
    export_terraform,
    stale_files,
    terraform_name,
    write_export,
)

__all__ = [
    "EXPORT_FILES",
    "PROVIDER_PINS",
    "ProviderPin",
    "TerraformExport",
    "check_export",
    "export_terraform",
    "stale_files",
    "terraform_name",
    "write_export",
]
