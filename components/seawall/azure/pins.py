"""Reading a stack's Azure priority pins (``<stacks>/<stack>.priorities.json``) boundedly and strictly.

The pins are committed input like the IP-set lock: a pull request can edit them. The
file is read by :mod:`seawall.jsonsource` (size cap, nesting, repeated keys, numbers as
written), and every priority must be a JSON integer in Azure's range for a rule: a
``740.5``, ``true`` or ``"740"`` is refused at its line, never read as a priority.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seawall.errors import UserError
from seawall.jsonsource import is_int, read_json

MAX_PINS_BYTES = 4 * 2**20
PINS_CAP_REASON = "pins for 1,000 rules in each direction of 100 roles are about 4 MiB"
PINS_VALID = "{role: {Inbound|Outbound: {rule name: priority}}} as seawall priorities --write writes it"
# Azure's range for a security rule's priority (the REST specification's SecurityRule.priority).
LOWEST_PRIORITY, HIGHEST_PRIORITY = 100, 4096
DIRECTIONS = ("Inbound", "Outbound")


def read_pins(path: Path) -> Any:
    """The pins at ``path`` (which exists), every value checked; any problem is one UserError naming file:line."""
    shown = str(path)
    data, text = read_json(path, shown, MAX_PINS_BYTES, UserError, PINS_VALID, PINS_CAP_REASON)

    def line(*needles: str) -> str:
        pos = 0
        for needle in needles:
            found = text.find(needle, pos)
            if found < 0:
                break
            pos = found
        return f"{shown}:{text.count(chr(10), 0, pos) + 1}"

    if not isinstance(data, dict):
        raise UserError(line(), f"not priority pins; valid: {PINS_VALID}")
    for role, dirs in data.items():
        _object(dirs, line(f'"{role}"'), f"{role}")
        for direction, names in dirs.items():
            where = line(f'"{role}"', f'"{direction}"')
            if direction not in DIRECTIONS:
                raise UserError(where, f"{role}: {direction!r} is not a direction; valid: {', '.join(DIRECTIONS)}")
            _object(names, where, f"{role}.{direction}")
            for name, priority in names.items():
                if not is_int(priority) or not LOWEST_PRIORITY <= priority <= HIGHEST_PRIORITY:
                    raise UserError(
                        line(f'"{role}"', f'"{direction}"', f'"{name}"'),
                        f"{role}.{direction}.{name}: {_shown(priority)} is not a rule priority; valid: an integer "
                        f"from {LOWEST_PRIORITY} to {HIGHEST_PRIORITY}",
                    )
    return data


def _object(value: Any, where: str, label: str) -> None:
    if not isinstance(value, dict):
        raise UserError(where, f"{label}: {_shown(value)} is not an object; valid: {PINS_VALID}")


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, bool) else str(value).lower()
    return text if len(text) <= 60 else text[:57] + "..."
