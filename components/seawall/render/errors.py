"""Typed errors a renderer raises before any resource is declared."""

from __future__ import annotations

from seawall.errors import UserError


class RenderError(UserError):
    """A stack cannot be expressed on its cloud as configured."""


class QuotaExceeded(RenderError):
    """A role needs more rules (or entries) than the cloud allows."""

    def __init__(self, role: str, what: str, count: int, limit: int, way_out: str) -> None:
        self.role, self.what, self.count, self.limit = role, what, count, limit
        super().__init__(f"role {role}", f"{what}: {count} needed, limit {limit}; {way_out}")


class LimitExceeded(RenderError):
    """A single name, description or list breaks a cloud's hard format limit."""


class UnsupportedPeer(RenderError):
    """A peer binding the cloud cannot express in a rule."""
