"""Laying a role's rules out within AWS's quotas: vendor prefix lists in chunks, rules packed into groups.

Pure arithmetic over weights; ``seawall.aws.render`` builds the resources.

AWS counts rules per security group, per direction and per address family (the
quota "Inbound or outbound rules per security group", L-0EA8095F); a rule that
references a customer-managed prefix list counts the list's ``max_entries``. An
interface takes a few groups ("Security groups per network interface",
L-2AFB9258), so a role whose rules do not fit one group gets more, up to that
quota, and a vendor service whose list would not fit any group is split into
several lists. Nothing is ever broadened to save quota: a list's entries are the
service's exact networks, only divided.

Stability (a pull request that adds one address should change one list):

- a list is split by a hash of each network, so a new address lands in one chunk
  and moves no other entry;
- a rule's home group is a hash of its name, probing to the next group when full,
  so a new rule or a heavier list displaces nothing while the groups have room;
- both hashes are consistent (jump hashing): when a role needs one more group, or a
  service one more list, only the rules or entries that land in the new one move;
- headroom (25 %, at least 2 spare entries) absorbs most new addresses without
  any change; it shrinks towards the exact count before another group is added.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

# Headroom levels tried from the most generous to none: (share of the entries, at least this many).
HEADROOM_LEVELS: tuple[tuple[float, int], ...] = ((0.25, 2), (0.10, 1), (0.0, 0))

Dimension = tuple[str, int]  # (ingress | egress, 4 | 6)


def max_entries(count: int, level: tuple[float, int], account_max: int) -> int:
    share, minimum = level
    return min(account_max, count + max(minimum, math.ceil(count * share)))


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _bucket(key: int, buckets: int) -> int:
    """Jump consistent hashing (Lamping and Veach, 2014): growing from n to n+1 buckets moves only the
    keys that land in the new one, so a layout that needs one more group or list keeps the rest in place."""
    bucket, jump = -1, 0
    while jump < buckets:
        bucket = jump
        key = (key * 2862933555777941757 + 1) % 2**64
        jump = int((bucket + 1) * (2**31 / ((key >> 33) + 1)))
    return bucket


def chunk_networks(networks: Sequence[str], limit: int, level: tuple[float, int], account_max: int) -> list[list[str]]:
    """The fewest hash buckets of ``networks`` whose ``max_entries`` each fit ``limit`` (order kept per bucket).

    A bucket fits when its ``max_entries`` is within ``limit`` *and* it holds no more entries
    than that ``max_entries``: capped at ``account_max``, ``max_entries`` alone would say that
    1,001 networks fit a list of at most 1,000.
    """
    if _fits(len(networks), limit, level, account_max):
        return [list(networks)]
    cap = largest_fitting(limit, level, account_max)
    hashes = [_hash(net) for net in networks]

    def fits(count: int) -> bool:
        sizes = [0] * count
        for h in hashes:
            sizes[_bucket(h, count)] += 1
        return max(sizes) <= cap

    # No fewer buckets than an even split can hold them; hashing needs a few more. Find a count that
    # fits by doubling the step, then the smallest by bisection (the same answer every run).
    low = max(1, math.ceil(len(networks) / cap) - 1)  # treated as too few
    step, high = 1, low + 1
    while not fits(high):
        low, step = high, step * 2
        high = low + step
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            high = middle
        else:
            low = middle
    count = max(2, high)
    buckets: list[list[str]] = [[] for _ in range(count)]
    for net, h in zip(networks, hashes, strict=True):
        buckets[_bucket(h, count)].append(net)
    return [b for b in buckets if b]


def _fits(count: int, limit: int, level: tuple[float, int], account_max: int) -> bool:
    """One list of ``count`` entries fits: it may hold them (``count <= max_entries``) and weighs at most ``limit``."""
    most = max_entries(count, level, account_max)
    return count <= most <= limit


def largest_fitting(limit: int, level: tuple[float, int], account_max: int) -> int:
    """The most entries a list may hold so that its ``max_entries`` (entries plus headroom) fits ``limit``.

    Never more than ``account_max``: a list holds at most the account's maximum entries.
    """
    size = max(1, min(limit, account_max))
    while size > 1 and not _fits(size, limit, level, account_max):
        size -= 1
    return size


@dataclass(frozen=True)
class Item:
    """One rule to place: its name, where it counts, how much, and whom it serves (for messages)."""

    name: str
    dimensions: tuple[Dimension, ...]
    weight: int
    consumer: str  # service:NAME, site:NAME, internet, role:NAME


def pack(items: Sequence[Item], capacity: int, groups: int) -> dict[str, int] | None:
    """Each item's group (0-based) within ``groups`` groups of ``capacity`` per dimension, or None.

    Heavy items are placed first, each starting at its hashed home group; when that
    fails, first-fit decreasing decides whether the items fit at all.
    """
    order = sorted(items, key=lambda it: (-it.weight, it.name))
    for hashed in (True, False):
        loads: list[dict[Dimension, int]] = [{} for _ in range(groups)]
        placed: dict[str, int] = {}
        for item in order:
            home = _bucket(_hash(item.name), groups) if hashed else 0
            for step in range(groups):
                group = (home + step) % groups
                if all(loads[group].get(d, 0) + item.weight <= capacity for d in item.dimensions):
                    for d in item.dimensions:
                        loads[group][d] = loads[group].get(d, 0) + item.weight
                    placed[item.name] = group
                    break
            else:
                break
        else:
            return placed
    return None


def fewest_groups(items: Sequence[Item], capacity: int, most: int) -> tuple[int, dict[str, int]] | None:
    """The fewest groups (up to ``most``) that hold every item, and the placement."""
    for groups in range(1, most + 1):
        placed = pack(items, capacity, groups)
        if placed is not None:
            return groups, placed
    return None


def totals(items: Sequence[Item]) -> dict[Dimension, int]:
    out: dict[Dimension, int] = {}
    for item in items:
        for d in item.dimensions:
            out[d] = out.get(d, 0) + item.weight
    return out


def consumers(items: Sequence[Item], dimension: Dimension, top: int = 3) -> list[tuple[str, int]]:
    """The peers that weigh most in one dimension: (consumer, weight), heaviest first."""
    weights: dict[str, int] = {}
    for item in items:
        if dimension in item.dimensions:
            weights[item.consumer] = weights.get(item.consumer, 0) + item.weight
    return sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
