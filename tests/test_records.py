"""Typed records at the boundaries (catalogue, topology, stack config): what they accept and refuse.

pydantic's lax mode read ``true`` as the integer 1 and ``"60"`` as 60; the records read
neither, so a quota or a prefix length cannot be set by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import pytest
from seawall.errors import ConfigError
from seawall.records import Invalid, Meta, json_schema, parse, record
from seawall.stackconfig import parse_config

BASE = {"seawall:topology": "dmz", "seawall:cloud": "aws", "seawall:vpcId": "vpc-0123456789abcdef0"}


@record(camel=True)
@dataclass(frozen=True, kw_only=True)
class Inner:
    limit_value: Annotated[int, Meta(ge=1, le=10)] = 5


@record()
@dataclass(frozen=True, kw_only=True)
class Outer:
    name: Annotated[str, Meta(pattern=r"^[a-z]+$")]
    kind: Literal["a", "b"] = "a"
    inner: Inner = Inner()
    tags: dict[str, str] = field(default_factory=dict)
    items: tuple[Inner, ...] = ()


def problems(raw: Any) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(Invalid) as info:
        parse(Outer, raw)
    return [(p["loc"], p["type"]) for p in info.value.errors()]


@pytest.mark.parametrize(
    ("value", "kind"),
    [(True, "int_type"), ("6", "int_type"), (6.5, "int_type"), (0, "greater_than_equal"), (11, "less_than_equal")],
)
def test_an_integer_is_an_integer_in_range(value: Any, kind: str) -> None:
    assert problems({"name": "x", "inner": {"limitValue": value}}) == [(("inner", "limitValue"), kind)]


def test_every_problem_is_found_with_its_key_path() -> None:
    found = problems({"kind": "c", "inner": {"limitValue": 0, "other": 1}, "items": [{}, {"limit_value": "x"}]})
    assert found == [
        (("name",), "missing"),
        (("kind",), "literal_error"),
        (("inner", "limitValue"), "greater_than_equal"),
        (("inner", "other"), "extra_forbidden"),
        (("items", 1, "limit_value"), "int_type"),
    ]


def test_a_pattern_ends_at_the_end_of_the_text_not_before_a_newline() -> None:
    assert problems({"name": "abc\n"}) == [(("name",), "string_pattern_mismatch")]


def test_a_whole_number_that_crossed_json_or_protobuf_as_a_float_reads_as_an_integer() -> None:
    assert parse(Outer, {"name": "x", "inner": {"limitValue": 6.0}}).inner.limit_value == 6


def test_camel_case_and_python_names_both_read_and_defaults_are_never_shared() -> None:
    first = parse(Outer, {"name": "x", "inner": {"limit_value": 7}})
    second = parse(Outer, {"name": "y", "inner": {"limitValue": 8}})
    assert (first.inner.limit_value, second.inner.limit_value) == (7, 8)
    assert first.tags == {} and first.tags is not second.tags


def test_the_schema_says_what_parse_accepts() -> None:
    schema = json_schema(Outer)
    assert schema["required"] == ["name"] and schema["additionalProperties"] is False
    assert schema["properties"]["kind"] == {"default": "a", "enum": ["a", "b"], "title": "Kind", "type": "string"}
    assert schema["$defs"]["Inner"]["properties"]["limitValue"]["maximum"] == 10


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "seawall:quotas",
            {"aws": {"rulesPerSecurityGroup": True}},
            "True is not a whole number; valid: an integer from 1 to 1000",
        ),
        ("seawall:quotas", {"aws": {"securityGroupsPerEni": "6"}}, "'6' is not a whole number"),
        ("seawall:internetEquivalent", {"ipv4": 0}, "0 is too small; valid: 1 or more"),
        ("seawall:internetEquivalent", {"ipv4": "8"}, "'8' is not a whole number; valid: an integer from 1 to 32"),
        ("seawall:ipv6", "yes", "'yes' is not a boolean"),
        ("seawall:namePrefix", "dmz\n", "is malformed"),
    ],
)
def test_a_stack_setting_pydantic_would_have_coerced_is_refused(key: str, value: Any, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("s", {**BASE, key: value})
    assert expected in str(info.value)


def test_pulumis_stored_boolean_text_still_reads() -> None:
    assert parse_config("s", {**BASE, "seawall:ipv6": "true"}).settings.ipv6 is True


def test_a_setting_written_both_ways_is_refused_not_silently_dropped() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("s", {**BASE, "seawall:lockFile": "a.json", "seawall:lock_file": "b.json"})
    assert str(info.value) == "seawall:lockFile: written twice, as lockFile and lock_file; write the setting once"


def test_a_record_declared_with_a_type_the_reader_cannot_check_fails_loudly() -> None:
    @record()
    @dataclass(frozen=True, kw_only=True)
    class Pair:
        both: tuple[int, int]

    with pytest.raises(TypeError, match="tuple"):
        parse(Pair, {"both": [1, 2]})
    with pytest.raises(TypeError, match="frozen dataclass"):
        record()(type("Loose", (), {}))
