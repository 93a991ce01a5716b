"""Reading values as templates render them: one helper for every operator and sensor."""

from __future__ import annotations

import pytest

from airflow_provider_cancel.utils.templating import (
    is_blank,
    optional_text,
    parse_flag,
    parse_id_list,
    parse_list,
    parse_number,
)


@pytest.mark.parametrize(
    ("value", "blank"),
    [
        (None, True),
        ("", True),
        ("  ", True),
        ("None", True),
        ("null", True),
        ("0", False),
        (0, False),
        ("x", False),
        ([], False),
    ],
)
def test_is_blank(value, blank):
    assert is_blank(value) is blank


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("True", True),
        ("false", False),
        (" yes ", True),
        ("0", False),
        (1, True),
        ("", False),
        (None, False),
    ],
)
def test_parse_flag_reads_rendered_booleans(value, expected):
    assert parse_flag(value) is expected


@pytest.mark.parametrize("value", ["maybe", "2", 2.5, [], {}])
def test_parse_flag_refuses_anything_else(value):
    with pytest.raises(ValueError, match="must be true or false"):
        parse_flag(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["a", "b"], ["a", "b"]),
        (("a",), ["a"]),
        ('["a", "b"]', ["a", "b"]),
        ("['a', 'b']", ["a", "b"]),  # what {{ params.ids }} renders a Python list as
        ("('a', 'b')", ["a", "b"]),
        ("one", ["one"]),
        ("", None),
        ("[]", None),
        (None, None),
    ],
)
def test_parse_list_forms(value, expected):
    assert parse_list(value) == expected


def test_comma_lists_only_when_asked_and_only_bare_ids():
    assert parse_list("q1, q2,", split_commas=True) == ["q1", "q2"]
    assert parse_list("q1,q2") == ["q1,q2"]  # a recipient may contain a comma: never split by default
    with pytest.raises(ValueError, match="neither a list nor comma-separated ids"):
        parse_list("'q1', 'q2'", split_commas=True)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("[not json", "cannot be read"),
        ({"a": 1}, "list of strings"),
        ("[1, {}]", "non-empty strings"),
        ([""], "non-empty strings"),
    ],
)
def test_parse_id_list_errors(value, match):
    with pytest.raises(ValueError, match=match):
        parse_id_list(value)


def test_parse_id_list_strips_and_deduplicates_unless_told():
    assert parse_id_list([" a ", "a", 7]) == ["a", "7"]
    assert parse_id_list(["a", "a"], unique=False) == ["a", "a"]


def test_optional_text_and_number():
    assert optional_text(" x ") == "x" and optional_text("") is None and optional_text(12) == "12"
    with pytest.raises(ValueError, match="must be a string"):
        optional_text(["x"])
    with pytest.raises(ValueError, match="at most 3"):
        optional_text("abcd", max_len=3)
    assert parse_number("2.5") == 2.5
    with pytest.raises(ValueError, match=">= 0"):
        parse_number(-1, minimum=0)
    with pytest.raises(ValueError, match="must be a number"):
        parse_number(True)
