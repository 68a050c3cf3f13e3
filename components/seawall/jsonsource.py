"""Reading JSON input bounded and strictly: every JSON file seawall reads goes through here.

The IP-set lock, a stack's ``*.priorities.json`` pins and ``resolve``'s AWS
``ip-ranges.json`` are input (a pull request can edit them, a download can be
anything), so reading one may cost no more than its size says, and may not mean
anything but one thing:

- a file larger than the caller's cap is refused before it is read, and only
  regular files are read (a FIFO or ``/dev/zero`` would never end);
- nesting deeper than :data:`MAX_DEPTH` is refused (100,000 ``[`` would otherwise
  end in a ``RecursionError``);
- a key that appears twice in one object is refused, at the line of the second
  (``json.loads`` lets the last one win silently);
- ``NaN``, ``Infinity`` and integers longer than :data:`MAX_INT_DIGITS` digits are
  refused (Python converts a long integer in quadratic time, or refuses it with a
  ``ValueError`` of its own);
- numbers stay typed as written: ``1.0`` is a float, never the integer ``1``, and
  ``true`` is never a number (use :func:`is_int`).

Every refusal is a :class:`~seawall.errors.UserError` of the caller's class: one
line naming the file and line, what is wrong, and what would be valid.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeGuard

from seawall.errors import UserError

MAX_DEPTH = 64
"""The deepest nesting of objects and arrays accepted; seawall's own JSON files nest at most four deep."""

MAX_INT_DIGITS = 30
"""The longest integer accepted, in characters (sign included); seawall's integers have at most a handful of digits."""

MIN_BYTES_PER_ITEM = 12
"""A file may hold at most one item (a value, a key, an array or object) per this many bytes, on average.

What JSON costs Python in memory is per item (a two-letter string is about 60 bytes, a key's
pair more while it is read), not per byte: a file of short items packed tight costs 20 times
its size. Real files are far sparser (a minified AWS ``ip-ranges.json`` has one item per 14
bytes, seawall's indented files one per 20 or more), and at this density reading costs at most
8 times the file's size. Files of fewer than :data:`FREE_ITEMS` items are never refused for it.
"""

MIN_BYTES_PER_CONTAINER = 48
"""Likewise for arrays and objects, which cost more (an empty array is about 60 bytes, an object more)."""

FREE_ITEMS = 20_000

_TOO_DEEP = f"nesting deeper than {MAX_DEPTH} levels is not accepted; valid: at most {MAX_DEPTH} levels"


def is_int(value: Any) -> TypeGuard[int]:
    """A JSON integer: ``1`` (not ``1.0``, not ``true``)."""
    return type(value) is int


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _BadNumber(Exception):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
    return out


def _constant(name: str) -> NoReturn:
    raise _BadNumber(f"{name} is not a JSON number")


def _int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise _BadNumber(f"an integer of {len(text)} characters is too long to read (at most {MAX_INT_DIGITS})")
    return int(text)


_DECODER = json.JSONDecoder(parse_constant=_constant, parse_int=_int)
_PAIRS_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant, parse_int=_int)

# A JSON string, escapes included: removed to count what is outside strings.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(r"[\[\]{}]")
# Strings, brackets and colons: all that finding a repeated key needs.
_STRUCTURE = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{}\[\]:]')
# Tokens of JSON text, for finding a position after the fast parser has refused the text.
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


def parse_json(text: str, shown: str, error: type[UserError] = UserError, valid: str = "valid JSON") -> Any:
    """The value of JSON ``text``, strictly and boundedly read (see the module); errors name ``shown:line``.

    ``valid`` completes each message: what the file should be (``a lock written by seawall resolve``).
    """
    bare = _STRING.sub("", text)  # the structure alone, lines kept (a string holds no raw newline)
    depth = 0
    for bracket in _BRACKET.finditer(bare):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_DEPTH:  # refused before the parser recurses
            raise error(f"{shown}:{bare.count(chr(10), 0, bracket.start()) + 1}", f"{_TOO_DEEP} ({valid})")
    keys = bare.count(":")
    containers = bare.count("[") + bare.count("{")
    items = keys + bare.count(",") + containers
    del bare
    for what, count, spacing in (
        ("items", items, MIN_BYTES_PER_ITEM),
        ("arrays and objects", containers, MIN_BYTES_PER_CONTAINER),
    ):
        if count > FREE_ITEMS and count * spacing > len(text):
            raise error(
                shown,
                f"{count:,} {what} in {len(text):,} characters, more densely packed than any file seawall reads "
                f"(at most one per {spacing} characters, which bounds what reading it costs); valid: {valid}",
            )
    try:
        data = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        if not text.strip():
            raise error(f"{shown}:1", f"the file is empty; valid: {valid}") from None
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise error(f"{shown}:{exc.lineno}", f"the JSON ends early (a truncated file?); valid: {valid}") from None
        raise error(f"{shown}:{exc.lineno}", f"not JSON ({exc.msg} at column {exc.colno}); valid: {valid}") from None
    except RecursionError:
        raise error(shown, f"{_TOO_DEEP} ({valid})") from None
    except _BadNumber as exc:
        raise error(f"{shown}:{_number_line(text, str(exc))}", f"{exc}; valid: {valid}") from None
    if _keys(data) != keys:  # fewer keys than the text has: one repeats (the last would win)
        try:
            _PAIRS_DECODER.decode(text)
        except _Duplicate as exc:
            raise error(
                f"{shown}:{_duplicate_line(text, exc.key)}",
                f"key {exc.key!r} appears twice in one object; each key may appear once ({valid})",
            ) from None
        raise error(shown, f"a key appears twice in one object; each key may appear once ({valid})")
    return data


def read_json(
    path: Path,
    shown: str,
    max_bytes: int,
    error: type[UserError] = UserError,
    valid: str = "valid JSON",
    why: str = "",
) -> tuple[Any, str]:
    """(value, text) of the JSON file at ``path`` of at most ``max_bytes``; everything else is one-line ``error``.

    ``why`` says why the cap is what it is, in the error for a larger file.
    """
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise error(shown, f"not a regular file; valid: {valid}")
        if info.st_size > max_bytes:
            raise error(shown, _too_big(f"{info.st_size:,} bytes", max_bytes, why))
        with path.open("rb") as stream:
            data = stream.read(info.st_size + 1)
            if len(data) > info.st_size:  # it grew since stat(): read on, but no further than the cap
                data += stream.read(max_bytes + 1 - len(data))
    except OSError as exc:
        raise error(shown, f"cannot read the file: {exc.__class__.__name__}: {exc}; valid: {valid}") from None
    if len(data) > max_bytes:
        raise error(shown, _too_big(f"more than {max_bytes:,} bytes", max_bytes, why))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(
            f"{shown}:{line}", f"not UTF-8: byte 0x{data[exc.start]:02x} ({exc.reason}); valid: {valid}"
        ) from None
    del data
    return parse_json(text, shown, error, valid), text


def _too_big(size: str, limit: int, why: str) -> str:
    because = f" ({why})" if why else ""
    return f"file is {size}, too large to read; valid: at most {limit:,} bytes ({limit / 2**20:g} MiB){because}"


def _keys(data: Any) -> int:
    """How many keys the objects hold, all together (without recursion)."""
    level: list[Any] = [data] if isinstance(data, dict | list) else []
    keys = 0
    while level:
        below: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                keys += len(item)
                values: Any = item.values()
            else:
                values = item
            below += [v for v in values if isinstance(v, dict | list)]
        level = below
    return keys


def _scan(text: str, stop: Callable[[str, list[Any]], bool]) -> int:
    """The 1-based line of the first token for which ``stop(token, open containers)`` holds, else 1.

    Open containers are the keys seen so far (a set) for an object, None for an array. A slow,
    plain pass, made only to position an error the fast parser found.
    """
    stack: list[Any] = []
    line, last = 1, 0
    pending: str | None = None  # a string that may be a key, until the next token says
    for match in _TOKEN.finditer(text):
        token = match.group()
        if stop(token, stack):
            return line + text.count("\n", last, match.start())
        if token == ":" and pending is not None and stack and isinstance(stack[-1], set):
            stack[-1].add(_unquote(pending))
        pending = None
        if token in ("{", "["):
            stack.append(set() if token == "{" else None)
        elif token in ("}", "]"):
            if stack:
                stack.pop()
        elif token.startswith('"'):
            pending = token
        line += text.count("\n", last, match.start())
        last = match.start()
    return 1


def _duplicate_line(text: str, key: str) -> int:
    """The 1-based line of the second ``key`` in one object (a plain pass over strings and brackets only)."""
    stack: list[set[str] | None] = []
    pending: str | None = None  # the last string, a key if a colon follows
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        first = token[0]
        if first == '"':
            pending = token
        elif first == ":":
            keys = stack[-1] if stack else None
            if pending is not None and keys is not None:
                name = _unquote(pending)
                if name == key and name in keys:
                    return text.count("\n", 0, match.start()) + 1
                keys.add(name)
            pending = None
        else:
            pending = None
            if first in "{[":
                stack.append(set() if first == "{" else None)
            elif stack:
                stack.pop()
    return 1


def _unquote(token: str) -> str:
    if "\\" not in token:
        return token[1:-1]
    try:
        return str(json.loads(token))
    except ValueError:
        return token


def _number_line(text: str, message: str) -> int:
    if message.startswith("an integer"):
        return _scan(text, lambda token, _stack: token[:1] in "-0123456789" and len(token) > MAX_INT_DIGITS)
    return _scan(text, lambda token, _stack: token in ("NaN", "Infinity", "-Infinity"))
