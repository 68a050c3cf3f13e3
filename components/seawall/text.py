"""Text that reaches the clouds: descriptions in the characters they accept, names from meaning."""

from __future__ import annotations

import hashlib
import re

from seawall.aws.limits import DESCRIPTION_FORBIDDEN


def ascii_description(text: str, limit: int, ids: tuple[str, ...] = ()) -> str:
    """English text plus ``[ids]`` in the AWS description alphabet, at most ``limit`` chars.

    Japanese (or any other) characters never reach the cloud: they are dropped. When
    the whole does not fit, the purpose is shortened first, then the id list.
    """
    clean = " ".join(DESCRIPTION_FORBIDDEN.sub(" ", text).split())
    suffix = f" [{' '.join(ids)}]" if ids else ""
    if len(clean) + len(suffix) <= limit:
        return clean + suffix
    kept = list(ids)
    while kept and len(suffix) > limit // 2:
        kept.pop()
        suffix = f" [{' '.join(kept)} +{len(ids) - len(kept)} more]"
    room = limit - len(suffix)
    return (clean[: max(room - 3, 0)].rstrip() + "..." if room > 3 else "") + suffix


def slug(text: str) -> str:
    """Lower-case, ``[a-z0-9.-]`` only: a piece of a logical or rule name."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9.]+", "-", text.lower())).strip("-")


def bounded_name(name: str, limit: int) -> str:
    """``name`` itself when it fits, else a prefix plus a short hash of the whole (still unique, still stable)."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-.')}-{digest}"
