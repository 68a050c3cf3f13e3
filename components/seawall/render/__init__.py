"""Pure renderers: flows → cloud firewall specifications, checked against each cloud's hard limits."""

from seawall.render.errors import LimitExceeded, QuotaExceeded, RenderError, UnsupportedPeer

__all__ = ["LimitExceeded", "QuotaExceeded", "RenderError", "UnsupportedPeer"]
