"""Reading YAML fast, and knowing where every value came from when it matters.

Files are parsed with PyYAML's C loader, configured for YAML 1.2 core-schema
scalars (``yes``, ``on``, ``010`` and ``1:30`` stay what YAML 1.2 says they are)
and refusing duplicate keys, so it reads a file exactly as ruamel.yaml does. The
slow round-trip parse that records the line of every node runs only when an
error needs a position (:meth:`YamlDocument.line_of`), or when the fast reading
fails and the authoritative one must decide (:meth:`YamlDocument.exact`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from seawall.errors import UserError

Loc = Sequence[str | int]


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


def _int12(loader: _Core12Loader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)  # YAML 1.2: a leading zero is still decimal


def _mapping(loader: _Core12Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    keys = [loader.construct_object(k, deep=True) for k, _ in node.value]
    if len(set(map(repr, keys))) != len(keys):
        raise yaml.constructor.ConstructorError(None, None, "duplicate key", node.start_mark)
    return loader.construct_mapping(node, deep=True)


_Core12Loader.add_constructor("tag:yaml.org,2002:int", _int12)
_Core12Loader.add_constructor("tag:yaml.org,2002:map", _mapping)


class YamlDocument:
    """A parsed YAML file: plain data, and (computed on demand) the position of every node."""

    def __init__(self, path: str, text: str, data: Any, error: type[UserError], tree: Any = None) -> None:
        self.path = path
        self.text = text
        self.data = data
        self._error = error
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
    parser = YAML(typ="rt")
    parser.allow_duplicate_keys = False
    try:
        return parser.load(text)
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


def parse_yaml(text: str, path: str, error: type[UserError] = UserError) -> YamlDocument:
    """Parse YAML text; anything the fast reader rejects is decided (and positioned) by the round-trip parser."""
    try:
        data = yaml.load(text, Loader=_Core12Loader)
    except (yaml.YAMLError, ValueError, RecursionError):
        tree = _round_trip(text, path, error)  # raises the positioned error; returns if only the fast reader choked
        return YamlDocument(path, text, _plain(tree), error, tree)
    return YamlDocument(path, text, _plain(data), error)


def read_yaml(path: Path, display: str | None = None, error: type[UserError] = UserError) -> YamlDocument:
    """Read and parse a YAML file; an unreadable file is a one-line error too."""
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(shown, f"cannot read file: {exc.__class__.__name__}: {exc}") from None
    return parse_yaml(text, shown, error)


def display_path(path: Path) -> str:
    """A path as the user should read it in an error: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _first_line(text: str) -> str:
    return " ".join(str(text).split())
