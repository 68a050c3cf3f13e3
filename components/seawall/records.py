"""Typed records read from untrusted mappings: catalogue files, topologies, stack config.

A record is a frozen dataclass declared with :func:`record`. Its annotations say
what each key holds (``str``, ``int``, ``bool``, ``Literal[...]``, ``X | None``,
``tuple[X, ...]``, ``dict[str, X]``, ``Any`` or another record), refined by a
:class:`Meta` in ``Annotated[...]``: bounds, a pattern, a description for the
published JSON Schema, a function that reads the value first. :func:`parse`
checks a mapping against the record and builds it, or raises :class:`Invalid`
with every problem found, each located by its key path, so that the reader can
say ``file:line`` and what would be valid.

This replaces pydantic at these boundaries. pydantic's import and its model
building were a third of what a cold ``seawall plan`` paid beyond the work itself
(bench/plan); a record costs one dataclass, and its checks are built once, on
first use. The checks are stricter where pydantic's lax mode guessed: ``true``
or ``"60"`` is not an integer (``60.0``, a number that crossed JSON or protobuf,
is), ``"yes"`` is not a boolean.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

T = TypeVar("T")
Loc = tuple[str | int, ...]
Check = Callable[[Any, Loc, list[dict[str, Any]]], Any]
_FAILED: Any = object()  # what a check returns after recording a problem


class Invalid(ValueError):
    """Every problem one :func:`parse` found, in the order found.

    Each is a mapping: ``type`` (a name such as ``missing``, ``extra_forbidden``,
    ``literal_error``), ``loc`` (the key path), ``input`` (the value found),
    ``msg`` (a sentence) and ``ctx`` (the bound or pattern that failed).
    """

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems))
        self._problems = problems

    def errors(self) -> list[dict[str, Any]]:
        return list(self._problems)


@dataclasses.dataclass(frozen=True)
class Meta:
    """What a key holds beyond its type. ``before`` reads the raw value first; a ValueError it raises is the message."""

    description: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    ge: int | None = None
    le: int | None = None
    before: Callable[[Any], Any] | None = None
    json_schema: dict[str, Any] | None = None  # what the published schema shows instead of the type's own


@dataclasses.dataclass(frozen=True)
class _Options:
    strip: bool  # strip surrounding whitespace from text
    camel: bool  # keys are camelCase (the snake_case Python name is accepted too)
    before: Callable[[Any], Any] | None  # reads the whole raw value first (a peer written as a word)
    after: Callable[[Any], Any] | None  # checks the built record as a whole


def record(*, strip: bool = False, camel: bool = False) -> Callable[[type[T]], type[T]]:
    """Declare a record: a frozen, keyword-only dataclass whose keys :func:`parse` checks.

    Written above ``@dataclass(frozen=True, kw_only=True)``. A ``_before(raw)`` staticmethod
    reads the raw mapping first; an ``_after(self)`` method checks the built record as a
    whole. A ValueError raised by either is the message.
    """

    def build(cls: type[T]) -> type[T]:
        params = getattr(cls, "__dataclass_params__", None)
        if params is None or not params.frozen:
            raise TypeError(f"{cls.__name__}: a record is a frozen dataclass")
        before = cls.__dict__.get("_before")
        cls.__record__ = _Options(  # type: ignore[attr-defined]
            strip, camel, before.__func__ if isinstance(before, staticmethod) else None, cls.__dict__.get("_after")
        )
        return cls

    return build


def is_record(value: Any) -> bool:
    return isinstance(value, type) and hasattr(value, "__record__")


def to_camel(name: str) -> str:
    """``rules_per_security_group`` -> ``rulesPerSecurityGroup`` (``ipv6_cidrs`` -> ``ipv6Cidrs``)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def to_snake(name: str) -> str:
    """``rulesPerSecurityGroup`` -> ``rules_per_security_group``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


@dataclasses.dataclass(frozen=True)
class Key:
    """One key of a record, as :func:`keys` describes it."""

    name: str  # the Python attribute
    alias: str  # as the input spells it
    annotation: Any
    meta: Meta
    required: bool
    default: Any
    factory: Callable[[], Any] | None = None  # a fresh default for every record (a dict is never shared)


def keys(cls: type[Any]) -> dict[str, Key]:
    """A record's keys by Python name, in declaration order."""
    return _compiled(cls)[0]


def parse(cls: type[T], raw: Any) -> T:
    """``raw`` checked against the record ``cls`` and built; :class:`Invalid` lists every problem."""
    problems: list[dict[str, Any]] = []
    built = _check_for(cls)(raw, (), problems)
    if problems:
        raise Invalid(problems)
    return typing.cast(T, built)


def fields_given(cls: type[Any], raw: Mapping[str, Any]) -> set[str]:
    """The Python names of the keys ``raw`` sets (by name or alias)."""
    found = keys(cls)
    by_alias = {k.alias: k.name for k in found.values()}
    return {by_alias.get(key, key) for key in raw if by_alias.get(key, key) in found}


# --- building the checks, once per record ------------------------------------------------

_COMPILED: dict[type[Any], tuple[dict[str, Key], Check]] = {}


def _compiled(cls: type[Any]) -> tuple[dict[str, Key], Check]:
    found = _COMPILED.get(cls)
    if found is None:
        found = _COMPILED[cls] = _compile(cls)
    return found


def _check_for(cls: type[Any]) -> Check:
    # A record may name itself or a later one: the check is looked up when it runs.
    return lambda raw, loc, problems: _compiled(cls)[1](raw, loc, problems)


def _problem(problems: list[dict[str, Any]], kind: str, loc: Loc, value: Any, msg: str, **ctx: Any) -> Any:
    problems.append({"type": kind, "loc": loc, "input": value, "msg": msg, "ctx": ctx})
    return _FAILED


def _value_error(problems: list[dict[str, Any]], loc: Loc, value: Any, exc: ValueError) -> Any:
    return _problem(problems, "value_error", loc, value, str(exc), error=exc)


def _compile(cls: type[Any]) -> tuple[dict[str, Key], Check]:
    options: _Options = cls.__record__
    hints = typing.get_type_hints(cls, include_extras=True)
    found: dict[str, Key] = {}
    for spec in dataclasses.fields(cls):
        annotation, meta = _split(hints[spec.name])
        default: Any = dataclasses.MISSING
        factory = None if spec.default_factory is dataclasses.MISSING else spec.default_factory
        if spec.default is not dataclasses.MISSING:
            default = spec.default
        elif factory is not None:
            default = factory()
        alias = to_camel(spec.name) if options.camel else spec.name
        found[spec.name] = Key(spec.name, alias, annotation, meta, default is dataclasses.MISSING, default, factory)
    checks = [(key, _check_value(key.annotation, key.meta, options.strip)) for key in found.values()]
    accepted = {k.alias for k in found.values()} | ({k.name for k in found.values()} if options.camel else set())
    new = object.__new__

    def check(raw: Any, loc: Loc, problems: list[dict[str, Any]]) -> Any:
        if isinstance(raw, cls):
            return raw
        if options.before is not None:
            try:
                raw = options.before(raw)
            except ValueError as exc:
                return _value_error(problems, loc, raw, exc)
        if not isinstance(raw, Mapping):
            return _problem(problems, "model_type", loc, raw, f"expected a mapping, got {type(raw).__name__}")
        before = len(problems)
        values: dict[str, Any] = {}
        for key, check_value in checks:
            if key.alias in raw:
                given, at = raw[key.alias], key.alias
                if options.camel and key.name != key.alias and key.name in raw:  # one setting written two ways
                    twice = f"given twice, as {key.alias} and {key.name}; keep one"
                    _problem(problems, "duplicate_key", (*loc, key.name), raw[key.name], twice, other=key.alias)
                    continue
            elif options.camel and key.name in raw:
                given, at = raw[key.name], key.name
            elif key.required:
                _problem(problems, "missing", (*loc, key.alias), raw, "missing required key")
                continue
            else:
                values[key.name] = key.default if key.factory is None else key.factory()
                continue
            values[key.name] = check_value(given, (*loc, at), problems)
        for extra in raw:
            if extra not in accepted:
                _problem(problems, "extra_forbidden", (*loc, extra), raw[extra], "unknown key")
        if len(problems) > before:
            return _FAILED
        built = new(cls)
        built.__dict__.update(values)
        if options.after is not None:
            try:
                options.after(built)
            except ValueError as exc:
                return _value_error(problems, loc, raw, exc)
        return built

    return found, check


def _split(hint: Any) -> tuple[Any, Meta]:
    if typing.get_origin(hint) is typing.Annotated:
        base, *extras = typing.get_args(hint)
        metas = [m for m in extras if isinstance(m, Meta)]
        return base, metas[0] if metas else Meta()
    return hint, Meta()


def optional_of(annotation: Any) -> Any | None:
    """``X`` for ``X | None``; None otherwise."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0]
    return None


def _check_value(annotation: Any, meta: Meta, strip: bool) -> Check:
    inner = _check_type(annotation, meta, strip)
    if meta.before is None:
        return inner
    before = meta.before

    def check(raw: Any, loc: Loc, problems: list[dict[str, Any]]) -> Any:
        try:
            raw = before(raw)
        except ValueError as exc:
            return _value_error(problems, loc, raw, exc)
        return inner(raw, loc, problems)

    return check


def _check_type(annotation: Any, meta: Meta, strip: bool) -> Check:
    inner_optional = optional_of(annotation)
    if inner_optional is not None:
        inner = _check_type(inner_optional, meta, strip)
        return lambda raw, loc, problems: None if raw is None else inner(raw, loc, problems)
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return lambda raw, loc, problems: raw
    if annotation is str:
        return _text(meta, strip)
    if annotation is int:
        return _integer(meta)
    if annotation is bool:
        return lambda raw, loc, problems: (
            raw if isinstance(raw, bool) else _problem(problems, "bool_type", loc, raw, "expected true or false")
        )
    if origin is Literal:
        return _literal(typing.get_args(annotation))
    if origin is tuple:
        args = typing.get_args(annotation)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"records read tuples of one type, tuple[X, ...], not {annotation!r}")
        return _sequence(_check_type(args[0], Meta(), strip), meta)
    if origin is dict:
        value = _check_type(typing.get_args(annotation)[1], Meta(), strip)
        return _mapping(value, meta)
    if is_record(annotation):
        return _check_for(annotation)
    raise TypeError(f"records cannot check {annotation!r}")


def _text(meta: Meta, strip: bool) -> Check:
    # A pattern's $ is the end of the text, not the end of a line: "vpc-1\n" is no id.
    pattern = re.compile(meta.pattern.replace("$", r"\Z")) if meta.pattern else None

    def check(raw: Any, loc: Loc, problems: list[dict[str, Any]]) -> Any:
        if not isinstance(raw, str):
            return _problem(problems, "string_type", loc, raw, f"expected text, got {type(raw).__name__}")
        if strip:
            raw = raw.strip()
        if meta.min_length is not None and len(raw) < meta.min_length:
            return _problem(
                problems, "string_too_short", loc, raw, "is empty; valid: some text", min_length=meta.min_length
            )
        if meta.max_length is not None and len(raw) > meta.max_length:
            return _problem(
                problems,
                "string_too_long",
                loc,
                raw,
                f"is longer than {meta.max_length} characters",
                max_length=meta.max_length,
            )
        if pattern is not None and not pattern.search(raw):
            return _problem(
                problems, "string_pattern_mismatch", loc, raw, f"does not match {meta.pattern}", pattern=meta.pattern
            )
        return raw

    return check


def _integer(meta: Meta) -> Check:
    def check(raw: Any, loc: Loc, problems: list[dict[str, Any]]) -> Any:
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)  # a number that crossed JSON or protobuf (the Pulumi package's wire) as 60.0
        if isinstance(raw, bool) or not isinstance(raw, int):
            bounds = {k: v for k, v in (("ge", meta.ge), ("le", meta.le)) if v is not None}
            return _problem(problems, "int_type", loc, raw, f"expected an integer, got {type(raw).__name__}", **bounds)
        if meta.ge is not None and raw < meta.ge:
            return _problem(problems, "greater_than_equal", loc, raw, f"must be {meta.ge} or more", ge=meta.ge)
        if meta.le is not None and raw > meta.le:
            return _problem(problems, "less_than_equal", loc, raw, f"must be at most {meta.le}", le=meta.le)
        return raw

    return check


def literal_text(options: tuple[Any, ...]) -> str:
    """``'a', 'b' or 'c'``."""
    shown = [repr(o) for o in options]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def _literal(options: tuple[Any, ...]) -> Check:
    allowed = frozenset((type(o), o) for o in options)
    expected = literal_text(options)

    def check(raw: Any, loc: Loc, problems: list[dict[str, Any]]) -> Any:
        try:
            if (type(raw), raw) in allowed:
                return raw
        except TypeError:  # an unhashable value (a list or mapping) is no option
            pass
        return _problem(problems, "literal_error", loc, raw, f"must be {expected}", expected=expected)

    return check


def _sequence(item: Check, meta: Meta) -> Check:
    def check(raw: Any, loc: Loc, problems: list[dict[str, Any]]) -> Any:
        if not isinstance(raw, list | tuple):
            return _problem(problems, "tuple_type", loc, raw, f"expected a list, got {type(raw).__name__}")
        if meta.min_length is not None and len(raw) < meta.min_length:
            return _problem(
                problems,
                "too_short",
                loc,
                raw,
                f"has {len(raw)} items; valid: at least {meta.min_length}",
                min_length=meta.min_length,
            )
        before = len(problems)
        out = tuple(item(value, (*loc, index), problems) for index, value in enumerate(raw))
        return _FAILED if len(problems) > before else out

    return check


def _mapping(value: Check, meta: Meta) -> Check:
    def check(raw: Any, loc: Loc, problems: list[dict[str, Any]]) -> Any:
        if not isinstance(raw, Mapping):
            return _problem(problems, "dict_type", loc, raw, f"expected a mapping, got {type(raw).__name__}")
        if meta.min_length is not None and len(raw) < meta.min_length:
            return _problem(
                problems,
                "too_short",
                loc,
                raw,
                f"has {len(raw)} keys; valid: at least {meta.min_length}",
                min_length=meta.min_length,
            )
        before = len(problems)
        out: dict[str, Any] = {}
        for key, given in raw.items():
            if not isinstance(key, str):
                _problem(problems, "string_type", (*loc, key), key, f"a key must be text, got {type(key).__name__}")
                continue
            out[key] = value(given, (*loc, key), problems)
        return _FAILED if len(problems) > before else out

    return check


# --- the published JSON Schema ------------------------------------------------------------


def json_schema(cls: type[Any]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a record: nested records under ``$defs``, as editors read them."""
    defs: dict[str, Any] = {}
    top = _record_schema(cls, defs)
    defs.pop(cls.__name__, None)
    return {**({"$defs": dict(sorted(defs.items()))} if defs else {}), **top}


def _record_schema(cls: type[Any], defs: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for key in keys(cls).values():
        schema = dict(key.meta.json_schema) if key.meta.json_schema else _type_schema(key.annotation, key.meta, defs)
        if not key.required:
            schema["default"] = _json_value(key.default)
        if key.meta.description:
            schema["description"] = key.meta.description
        if "$ref" not in schema or len(schema) > 1:
            schema["title"] = key.name.replace("_", " ").title()
        properties[key.alias] = schema
        if key.required:
            required.append(key.alias)
    out: dict[str, Any] = {"additionalProperties": False}
    if cls.__doc__:
        import inspect  # only when a schema is printed

        out["description"] = inspect.cleandoc(cls.__doc__)
    out["properties"] = properties
    if required:
        out["required"] = required
    out["title"] = cls.__name__
    out["type"] = "object"
    return out


def _json_value(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {keys(type(value))[f.name].alias: _json_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _type_schema(annotation: Any, meta: Meta, defs: dict[str, Any]) -> dict[str, Any]:
    inner = optional_of(annotation)
    if inner is not None:
        return {"anyOf": [_type_schema(inner, meta, defs), {"type": "null"}]}
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return {}
    if annotation is str:
        out: dict[str, Any] = {}
        if meta.max_length is not None:
            out["maxLength"] = meta.max_length
        if meta.min_length is not None:
            out["minLength"] = meta.min_length
        if meta.pattern is not None:
            out["pattern"] = meta.pattern
        return {**out, "type": "string"}
    if annotation is int:
        out = {}
        if meta.le is not None:
            out["maximum"] = meta.le
        if meta.ge is not None:
            out["minimum"] = meta.ge
        return {**out, "type": "integer"}
    if annotation is bool:
        return {"type": "boolean"}
    if origin is Literal:
        options = list(typing.get_args(annotation))
        if len(options) == 1:
            return {"const": options[0], "type": "string"}
        return {"enum": options, "type": "string"}
    if origin is tuple:
        out = {"items": _type_schema(typing.get_args(annotation)[0], Meta(), defs)}
        if meta.min_length is not None:
            out["minItems"] = meta.min_length
        return {**out, "type": "array"}
    if origin is dict:
        out = {"additionalProperties": _type_schema(typing.get_args(annotation)[1], Meta(), defs)}
        if meta.min_length is not None:
            out["minProperties"] = meta.min_length
        return {**out, "type": "object"}
    if is_record(annotation):
        if annotation.__name__ not in defs:
            defs[annotation.__name__] = {}  # a record that names itself stops here
            defs[annotation.__name__] = _record_schema(annotation, defs)
        return {"$ref": f"#/$defs/{annotation.__name__}"}
    raise TypeError(f"no schema for {annotation!r}")
