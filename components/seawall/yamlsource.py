"""Reading YAML while remembering where every value came from.

ruamel.yaml's round-trip loader records the line of every mapping key and
sequence item. :class:`YamlDocument` keeps the parsed tree beside plain Python
data, and :meth:`YamlDocument.line_of` turns a location path such as
``("entries", 3, "ports", 0)`` into the 1-based line that holds it, so every
error can name ``file:line``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from seawall.errors import UserError

Loc = Sequence[str | int]


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file: plain data plus the position of every node."""

    path: str
    tree: Any
    data: Any

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
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    if hasattr(node, "isoformat"):  # dates stay text: the documents say "2018-10"
        return node.isoformat()
    if isinstance(node, str):
        return str(node)
    return node


def parse_yaml(text: str, path: str, error: type[UserError] = UserError) -> YamlDocument:
    """Parse YAML text; syntax errors and duplicate keys become one-line errors."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        tree = yaml.load(text)
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
    return YamlDocument(path=path, tree=tree, data=_plain(tree))


def read_yaml(path: Path, display: str | None = None, error: type[UserError] = UserError) -> YamlDocument:
    """Read and parse a YAML file; an unreadable file is a one-line error too."""
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(shown, f"cannot read file: {exc.__class__.__name__}: {exc}") from None
    return parse_yaml(text, shown, error)


def _first_line(text: str) -> str:
    return " ".join(str(text).split())
