"""Read values as a DAG author or a rendered Jinja template gives them.

A templated argument reaches the operator as text once rendered: ``{{ params.ids }}`` renders a
Python list as ``['a', 'b']``, a boolean param as ``True``, an unset param as ``""`` or ``None``.
These helpers turn such text back into the value it stands for, and say clearly when it cannot be
read. They are Airflow-free and raise :class:`ValueError`; callers attach the field name.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

#: What a template that pulled a missing value renders as: "not given".
BLANKS = frozenset({"", "none", "null"})

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", "", "none"})

# An item of a comma-separated list: no quotes, brackets or whitespace, so a Python or JSON list
# rendered as text (``['q1', 'q2']``) can never be split into ids.
BARE_ID = re.compile(r"^[^\s\[\](){}'\",]+$")


def is_blank(value: Any) -> bool:
    """Whether ``value`` means "not given": ``None``, or text that is empty, ``None`` or ``null``."""
    return value is None or (isinstance(value, str) and value.strip().lower() in BLANKS)


def optional_text(value: Any, *, max_len: int | None = None) -> str | None:
    """A string or integer id as stripped text; ``None`` when blank. Rejects other types."""
    if is_blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"must be a string (got {type(value).__name__})")
    text = str(value).strip()
    if max_len is not None and len(text) > max_len:
        raise ValueError(f"must be at most {max_len} characters (got {len(text)})")
    return text


def parse_flag(value: Any) -> bool:
    """A boolean that may arrive rendered (``"True"``, ``"false"``, ``"1"``); anything else is refused."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if value is None or text in _FALSE:
        return False
    if text in _TRUE:
        return True
    raise ValueError(f"must be true or false (got {value!r})")


def parse_number(value: Any, *, minimum: float | None = None) -> float:
    """A number that may arrive as text; ``minimum`` is inclusive."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number (got {value!r})")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"must be a number (got {value!r})") from None
    if minimum is not None and number < minimum:
        raise ValueError(f"must be >= {minimum:g} (got {value!r})")
    return number


def parse_list(value: Any, *, split_commas: bool = False) -> list[Any] | None:
    """
    A list given as a list, one plain value, or rendered text; ``None`` when blank or empty.

    Text starting with ``[`` (or ``(``) must be a whole JSON list or Python list literal (what a
    Jinja template renders a Python list as). Other text is one value, or, with
    ``split_commas=True``, comma-separated bare ids (each must match :data:`BARE_ID`, so half a
    list can never pass as an id).
    """
    if is_blank(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text[0] in "[(":
            try:
                value = json.loads(text)
            except ValueError:
                try:
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    raise ValueError(f"looks like a list but cannot be read: {text[:100]!r}") from None
        elif split_commas:
            parts = [p.strip() for p in text.split(",")]
            bad = [p for p in parts if p and not BARE_ID.match(p)]
            if bad:
                raise ValueError(f"{text[:100]!r} is neither a list nor comma-separated ids ({bad[0]!r} is not an id)")
            value = [p for p in parts if p]
        else:
            value = [text]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"must be a list of strings (got {type(value).__name__})")
    return list(value) or None


def parse_id_list(value: Any, *, split_commas: bool = False, unique: bool = True) -> list[str] | None:
    """:func:`parse_list` whose items must be non-empty strings (or integers); stripped, deduplicated."""
    items = parse_list(value, split_commas=split_commas)
    if items is None:
        return None
    ids: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int)) or not str(item).strip():
            raise ValueError(f"must hold non-empty strings (got {item!r})")
        text = str(item).strip()
        if not unique or text not in ids:
            ids.append(text)
    return ids or None
