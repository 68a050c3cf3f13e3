"""Reading YAML fast, bounded, and knowing where every value came from when it matters.

Files are read with libyaml's event parser, configured for YAML 1.2 core-schema
scalars (``yes``, ``on``, ``010`` and ``1:30`` stay what YAML 1.2 says they are)
and refusing duplicate keys, so it reads a file exactly as ruamel.yaml does. The
slow round-trip parse that records the line of every node runs only when an
error needs a position (:meth:`YamlDocument.line_of`), or when the fast reading
fails and the authoritative one must decide (:meth:`YamlDocument.exact`).

A seawall file is data written by hand, so nothing in it may make the reader do
more work than the text is long: files above :data:`MAX_YAML_BYTES` are refused
before they are read, and anchors, aliases, merge keys and nesting deeper than
:data:`MAX_DEPTH` are refused as the parser meets them, before anything is built
(an alias bomb of a few hundred bytes would otherwise expand to gigabytes, and
deep flow nesting crashes libyaml's composer and is quadratic in its scanner).
Both parsers enforce this: the event reader below, and the round-trip composer.
"""

from __future__ import annotations

import functools
import re
import stat
import sys
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from yaml._yaml import CParser

from seawall.errors import UserError

Loc = Sequence[str | int]

MAX_YAML_BYTES = 32 * 2**20
"""The largest YAML file seawall reads: a 20,000-entry catalogue is about 22 MiB."""

MAX_STACK_FILE_BYTES = 2**20
"""The largest stack file (``Pulumi.<stack>.yaml``) worth reading: real ones are a few KiB."""

MAX_DEPTH = 64
"""The deepest nesting of mappings and lists accepted; seawall's own files nest at most six deep."""

_MERGE_TAG = "tag:yaml.org,2002:merge"
_NO_ANCHORS = "anchors and aliases (&name, *name) are not accepted; write the value out where it is used"
_NO_MERGE = "YAML merge keys ('<<', !!merge) are not accepted; write the merged keys out in the mapping"
_TOO_DEEP = (
    f"nesting deeper than {MAX_DEPTH} levels is not accepted; valid: at most {MAX_DEPTH} levels of mappings and lists"
)


# The tags a seawall file may write out (``!!str 80``); any other tag names a type seawall does not
# define (``!x``, ``!!python/object/apply:…``, ``!!binary``, ``!!set``) and is an error, never ignored.
_CORE_TAGS = frozenset(
    {"!"} | {f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")}
)


def _unknown_tag(tag: str) -> str:
    shown = tag.replace("tag:yaml.org,2002:", "!!", 1)
    return (
        f"YAML tag {shown} is not accepted: seawall defines no such type; write the plain value "
        "(valid tags: !!str, !!int, !!float, !!bool, !!null, !!seq, !!map)"
    )


class _Core12Loader(yaml.CSafeLoader):
    """libyaml's parser with YAML 1.2 core-schema resolution and no duplicate keys."""


_Core12Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    _Core12Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _int_text(text: str) -> int:
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)  # YAML 1.2: a leading zero is still decimal


def _int12(loader: _Core12Loader, node: yaml.ScalarNode) -> int:
    return _int_text(str(loader.construct_scalar(node)))


def _mapping(loader: _Core12Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    keys = [loader.construct_object(k, deep=True) for k, _ in node.value]
    if len(set(map(repr, keys))) != len(keys):
        raise yaml.constructor.ConstructorError(None, None, "duplicate key", node.start_mark)
    return loader.construct_mapping(node, deep=True)


_Core12Loader.add_constructor("tag:yaml.org,2002:int", _int12)
_Core12Loader.add_constructor("tag:yaml.org,2002:map", _mapping)


class _Refused(Exception):
    """Something seawall does not accept in a YAML file, met by a parser before anything was built from it."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _line(event: Any) -> int:
    mark = event.start_mark
    return int(mark.line) + 1 if mark is not None else 1


_RESOLVERS = _Core12Loader.yaml_implicit_resolvers
_BOOL, _INT, _NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:null"


def _plain_scalar(text: str) -> Any:
    """An unquoted scalar, resolved and constructed as :class:`_Core12Loader` does.

    Raises ValueError for a decimal integer longer than Python converts (it costs quadratic time).
    """
    for tag, pattern in _RESOLVERS.get(text[:1], ()):
        if not pattern.match(text):
            continue
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return text.lower() == "true"
        if tag == _INT:
            return _int_text(text)
        value = text.lower()
        sign = -1 if value[0] == "-" else 1
        if value[0] in "+-":
            value = value[1:]
        if value == ".inf":
            return sign * float("inf")
        return float("nan") if value == ".nan" else sign * float(value)
    return text


Positions = dict[int, list[int]]
"""Per container built by :func:`_read` (by ``id``): the 0-based line of each mapping key or sequence item, in order."""

_ScalarEvent, _AliasEvent = yaml.ScalarEvent, yaml.AliasEvent
_MappingStart, _MappingEnd = yaml.MappingStartEvent, yaml.MappingEndEvent
_SequenceStart, _SequenceEnd = yaml.SequenceStartEvent, yaml.SequenceEndEvent
_DocumentStart = yaml.DocumentStartEvent


def _read(text: str, progress: Callable[[int], None] | None = None) -> tuple[Any, Positions | None]:
    """Plain data from libyaml's event stream, refusing anchors, aliases, merge keys and deep nesting on sight.

    Building from events (not from libyaml's composed nodes) never expands an alias,
    never recurses, and is about twice as fast. It also notes the line of every key and
    item as it goes (the event's start mark, where the round-trip parser puts it too), so
    an error in a valid file is positioned without parsing it again. Anything this reader
    cannot decide raises a ``yaml.YAMLError`` for the round-trip parser to decide and position.
    ``progress`` is told the number of characters read, now and then.
    """
    # The open collections: (is it a mapping, its items so far, their lines); the innermost is held in locals.
    parents: list[tuple[bool, list[Any], list[int]]] = []
    is_map = False
    items: list[Any] = []  # at the top, the stream: a list of at most one document's root
    lines: list[int] = []
    positions: Positions = {}
    documents = 0
    tagged = False
    get_event: Callable[[], Any] = CParser(text).get_event  # one C call per event, no generator round trip
    while (event := get_event()) is not None:
        kind = type(event)
        if kind is _ScalarEvent:
            if event.anchor is not None:
                raise _Refused(_line(event), f"YAML anchor &{event.anchor}: {_NO_ANCHORS}")
            value: Any = event.value
            if event.tag is not None:
                if event.tag == _MERGE_TAG:
                    raise _Refused(_line(event), _NO_MERGE)
                if event.tag not in _CORE_TAGS:
                    raise _Refused(_line(event), _unknown_tag(event.tag))
                tagged = True  # an explicit tag is rare: the node loader below decides what it means
            elif event.implicit[0]:
                if value[:1] in _RESOLVERS:  # most plain text starts where no core-schema type can
                    try:
                        value = _plain_scalar(value)
                    except ValueError:
                        limit = sys.get_int_max_str_digits()
                        message = f"an integer of {len(value)} digits is not accepted; valid: at most {limit} digits"
                        raise _Refused(_line(event), message) from None
                    if is_map and not len(items) & 1:  # a key: seawall's keys are text (80: reads as "80")
                        value = str(value)
                elif value == "<<" and is_map and len(items) % 2 == 0:
                    raise _Refused(_line(event), _NO_MERGE)
            lines.append(event.start_mark.line)
            items.append(value)
        elif kind is _MappingStart or kind is _SequenceStart:
            if event.anchor is not None:
                raise _Refused(_line(event), f"YAML anchor &{event.anchor}: {_NO_ANCHORS}")
            if event.tag is not None:
                if event.tag == _MERGE_TAG:
                    raise _Refused(_line(event), _NO_MERGE)
                if event.tag not in _CORE_TAGS:
                    raise _Refused(_line(event), _unknown_tag(event.tag))
                tagged = True
            if len(parents) >= MAX_DEPTH:
                raise _Refused(_line(event), _TOO_DEEP)
            lines.append(event.start_mark.line)
            parents.append((is_map, items, lines))
            is_map, items, lines = kind is _MappingStart, [], []
        elif kind is _MappingEnd:
            try:
                value = dict(zip(items[0::2], items[1::2], strict=True))
            except TypeError:  # a collection as a key
                raise yaml.constructor.ConstructorError(None, None, "unhashable key", None) from None
            if 2 * len(value) != len(items):  # a repeated key (or 1 and "1"): the round-trip parser decides
                raise yaml.constructor.ConstructorError(None, None, "duplicate key", None)
            positions[id(value)] = lines[0::2]
            is_map, items, lines = parents.pop()
            if progress is not None and len(parents) == 2:  # an item of a top-level list (an entry) is done
                progress(event.end_mark.index)
            items.append(value)
        elif kind is _SequenceEnd:
            value = items
            positions[id(value)] = lines
            is_map, items, lines = parents.pop()
            items.append(value)
        elif kind is _AliasEvent:
            raise _Refused(_line(event), f"YAML alias *{event.anchor}: {_NO_ANCHORS}")
        elif kind is _DocumentStart:
            documents += 1
            if documents > 1:
                raise yaml.composer.ComposerError(None, None, "more than one document", None)
    if tagged:  # safe to compose now: no aliases, bounded depth
        return _plain(yaml.load(text, Loader=_Core12Loader)), None
    return (items[0] if items else None), positions


@functools.cache
def _guarded_composer() -> type[Any]:
    """ruamel's composer, refusing what :func:`_read` refuses, before it composes the node.

    Made on first use: ruamel is imported only when a file needs the round-trip parser.
    """
    from ruamel.yaml.composer import Composer
    from ruamel.yaml.events import AliasEvent as RtAliasEvent
    from ruamel.yaml.events import CollectionStartEvent as RtCollectionStartEvent
    from ruamel.yaml.events import ScalarEvent as RtScalarEvent
    from ruamel.yaml.nodes import MappingNode as RtMappingNode

    class _GuardedComposer(Composer):
        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.parser.peek_event()
            if isinstance(event, RtAliasEvent):
                raise _Refused(_line(event), f"YAML alias *{event.anchor}: {_NO_ANCHORS}")
            if event.anchor is not None:
                raise _Refused(_line(event), f"YAML anchor &{event.anchor}: {_NO_ANCHORS}")
            merge_key = (
                isinstance(event, RtScalarEvent)
                and event.implicit[0]
                and event.value == "<<"
                and isinstance(parent, RtMappingNode)
                and index is None  # ruamel composes a mapping's keys with index None
            )
            if merge_key or event.tag == _MERGE_TAG:
                raise _Refused(_line(event), _NO_MERGE)
            tag = getattr(event, "tag", None)
            tag = getattr(tag, "value", tag)  # ruamel wraps a tag in a Tag object
            if tag is not None and tag not in _CORE_TAGS:
                raise _Refused(_line(event), _unknown_tag(str(tag)))
            if isinstance(event, RtCollectionStartEvent) and self.depth >= MAX_DEPTH:
                raise _Refused(_line(event), _TOO_DEEP)
            return super().compose_node(parent, index)

    return _GuardedComposer


class YamlDocument:
    """A parsed YAML file: plain data, and the position of every node.

    Positions come from the fast reading when it built the data (``positions``), and
    otherwise from the round-trip parse, made on demand (:attr:`tree`).
    """

    def __init__(
        self,
        path: str,
        text: str,
        data: Any,
        error: type[UserError],
        tree: Any = None,
        positions: Positions | None = None,
    ) -> None:
        self.path = path
        self.text = text
        self.data = data
        self._error = error
        self.positions = positions
        if tree is not None:
            self.__dict__["tree"] = tree

    @cached_property
    def tree(self) -> Any:
        return _round_trip(self.text, self.path, self._error)

    def exact(self) -> YamlDocument:
        """The same file read by the round-trip parser (the authority when the fast reading is in doubt)."""
        return YamlDocument(self.path, self.text, _plain(self.tree), self._error, self.tree)

    def line_of(self, loc: Loc) -> int:
        """The 1-based line of the deepest node of ``loc`` that exists."""
        if self.positions is not None:
            return self._fast_line_of(loc, self.positions)
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        node = self.tree
        line = 1
        for key in loc:
            if isinstance(node, CommentedMap) and key in node:
                line = node.lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
                line = node.lc.item(key)[0] + 1
                node = node[key]
            else:
                break
        return line

    def _fast_line_of(self, loc: Loc, positions: Positions) -> int:
        node = self.data
        line = 1
        for key in loc:
            lines = positions.get(id(node))
            if lines is None:
                break
            if isinstance(node, dict) and key in node:
                line = lines[list(node).index(key)] + 1  # a linear scan, paid only for an error
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                line = lines[key] + 1
                node = node[key]
            else:
                break
        return line

    def where(self, loc: Loc) -> str:
        return f"{self.path}:{self.line_of(loc)}"


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if hasattr(node, "isoformat"):  # dates stay text: the documents say "2018-10"
        return node.isoformat()
    if isinstance(node, str):
        return str(node)
    return node


def _round_trip(text: str, path: str, error: type[UserError]) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    parser = YAML(typ="rt")
    parser.allow_duplicate_keys = False
    parser.Composer = _guarded_composer()
    try:
        return parser.load(text)
    except _Refused as exc:
        raise error(f"{path}:{exc.line}", exc.message) from None
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 1
        raise error(f"{path}:{line}", f"duplicate key ({_first_line(exc.problem)}); each key may appear once") from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        what = _first_line(exc.problem or exc.context or "malformed YAML")
        if exc.context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
            what += f" ({_first_line(exc.context)} at line {exc.context_mark.line + 1})"
        raise error(f"{path}:{line}", f"YAML syntax error: {what}") from None
    except YAMLError as exc:
        raise error(f"{path}:1", f"YAML error: {_first_line(str(exc))}") from None
    except (ValueError, RecursionError) as exc:  # a value Python will not build (an integer of 5,000 digits)
        raise error(f"{path}:1", f"YAML value cannot be read: {_first_line(str(exc))}") from None
    except AssertionError as exc:  # ruamel asserts on some directives (%YAML 1.3)
        raise error(f"{path}:1", f"YAML error: {_first_line(str(exc))}") from None


def parse_yaml(
    text: str, path: str, error: type[UserError] = UserError, progress: Callable[[int], None] | None = None
) -> YamlDocument:
    """Parse YAML text; anything the fast reader rejects is decided (and positioned) by the round-trip parser.

    Anchors, aliases, merge keys and nesting deeper than :data:`MAX_DEPTH` are
    errors (``path:line``), raised before any value is built.
    """
    try:
        data, positions = _read(text, progress)
    except _Refused as exc:
        raise error(f"{path}:{exc.line}", exc.message) from None
    except (yaml.YAMLError, ValueError, RecursionError):
        tree = _round_trip(text, path, error)  # raises the positioned error; returns if only the fast reader choked
        return YamlDocument(path, text, _plain(tree), error, tree)
    return YamlDocument(path, text, data, error, positions=positions)


def read_yaml(
    path: Path,
    display: str | None = None,
    error: type[UserError] = UserError,
    max_bytes: int = MAX_YAML_BYTES,
    progress: Callable[[int], None] | None = None,
) -> YamlDocument:
    """Read and parse a YAML file of at most ``max_bytes``; an unreadable or oversized file is a one-line error too.

    The size is checked before the file is read, and only regular files are read
    (a symlink to ``/dev/zero`` or a FIFO would never end).
    """
    shown = display or str(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise error(shown, "not a regular file; valid: a YAML file")
        if info.st_size > max_bytes:
            raise error(shown, _too_big(f"{info.st_size:,} bytes", max_bytes))
        with path.open("rb") as stream:
            # read(n) reserves n bytes up front, so ask for the size stat() saw
            data = stream.read(info.st_size + 1)
            if len(data) > info.st_size:  # it grew since stat(): read on, but no further than the limit
                data += stream.read(max_bytes + 1 - len(data))
    except OSError as exc:
        raise error(shown, f"cannot read file: {exc.__class__.__name__}: {exc}") from None
    if len(data) > max_bytes:
        raise error(shown, _too_big(f"more than {max_bytes:,} bytes", max_bytes))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Decoded here, from bytes, so that the error can name the line a person opens the file at.
        line, line_start = data.count(b"\n", 0, exc.start) + 1, data.rfind(b"\n", 0, exc.start) + 1
        raise error(
            f"{shown}:{line}",
            f"not UTF-8: byte 0x{data[exc.start]:02x} at column {exc.start - line_start + 1} ({exc.reason}); "
            "valid: a UTF-8 text file (save it as UTF-8)",
        ) from None
    if "\r" in text:  # as text mode reads it (universal newlines), so positions and values are unchanged
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return parse_yaml(text, shown, error, progress)


def _too_big(size: str, limit: int) -> str:
    return f"file is {size}, too large to read; valid: at most {limit:,} bytes ({limit / 2**20:g} MiB)"


def display_path(path: Path) -> str:
    """A path as the user should read it in an error: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _first_line(text: str) -> str:
    return " ".join(str(text).split())
