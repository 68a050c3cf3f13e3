"""Errors a user can act on.

Every error that reaches the command line is a :class:`UserError`: one line that
names where the problem is (``file:line`` or a config key), what is wrong and
what would be valid. The CLI prints it and exits with code 2; nothing is written.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem in the user's input, reported as one line and exit code 2."""

    exit_code = 2

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}" if where else message)


class CatalogError(UserError):
    """A catalogue file is malformed or inconsistent."""


class ConfigError(UserError):
    """A stack configuration value is malformed or inconsistent."""


class TopologyError(UserError):
    """A topology file is malformed or does not match the catalogue."""


class RenderError(UserError):
    """A stack cannot be expressed on its cloud as configured (raised before any resource is declared)."""


class QuotaExceeded(RenderError):
    """A role needs more rules (or entries) than the cloud allows."""

    def __init__(self, role: str, what: str, count: int, limit: int, way_out: str) -> None:
        self.role, self.what, self.count, self.limit = role, what, count, limit
        super().__init__(f"role {role}", f"{what}: {count} needed, limit {limit}; {way_out}")


class LimitExceeded(RenderError):
    """A single name, description or list breaks a cloud's hard format limit."""


class UnsupportedPeer(RenderError):
    """A peer binding the cloud cannot express in a rule."""
