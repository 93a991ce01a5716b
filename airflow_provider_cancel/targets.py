"""Typed cancel targets: what to cancel at one vendor, validated before anything is sent.

A target is what a DAG author writes as operator arguments, or what an on-call person pastes into
the kill switch as ``{"vendor": "<kind>", "conn_id": "...", ...fields}``. Each vendor kind has one
:class:`Target` subclass (in ``airflow_provider_cancel.vendors.<vendor>``) that owns its rules, so
operators, sensors, the trigger and the kill switch read the same rules from one place.

Airflow-free and HTTP-free: a whole list of targets can be checked with no task and no network.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.status import CancelResult
from airflow_provider_cancel.utils.templating import is_blank

T = TypeVar("T")
TargetT = TypeVar("TargetT", bound="Target")


def require_id(name: str, value: Any) -> str:
    """Return ``value`` as a stripped id string, or raise :class:`InvalidTarget` naming ``name``."""
    if value is None:
        raise InvalidTarget(f"{name} is required (got None); nothing was sent to the vendor.", field=name)
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InvalidTarget(
            f"{name} is required as one id, a string (got {_a(value)} {value!r:.100}); nothing was sent to the vendor.",
            field=name,
        )
    text = str(value).strip()
    if is_blank(text):  # "", or "None"/"null" as a template renders a missing value
        got = "an empty value" if not text else f"{value!r}, what a template renders for a missing value"
        raise InvalidTarget(f"{name} is required (got {got}); nothing was sent to the vendor.", field=name)
    return text


def require_plain_id(name: str, value: Any) -> str:
    """
    :func:`require_id`, and refuse text that cannot be one id: a ``/`` or ``\\`` or ``..`` (it would
    point the request at another endpoint), a control character, a list or object rendered as text
    (``['a', 'b']``), or ``True``/``False`` (what a template renders for a boolean).

    Target models and sensors use this for every id; hooks keep :func:`require_id` and quote ids
    into one path segment (:func:`path_segment`) as a second line of defence.
    """
    text = require_id(name, value)
    reason = _not_an_id(text)
    if reason:
        raise InvalidTarget(
            f"{name} {text[:100]!r} is not an id: {reason}; nothing was sent to the vendor.", field=name
        )
    return text


def _not_an_id(text: str) -> str | None:
    for bad in ("/", "\\", ".."):
        if bad in text:
            return f"it contains {bad!r}, which would point the request at another endpoint"
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return "it contains a control character (a line break or a tab?)"
    if text[0] in "[{(":
        return "it looks like a list or an object rendered as text; give one id"
    if text.lower() in ("true", "false"):
        return "it is what a template renders for a boolean"
    return None


def _a(value: Any) -> str:
    """``a list``, ``an object``, ``a boolean``... for messages about a value of the wrong type."""
    names = {list: "a list", tuple: "a list", dict: "an object", bool: "a boolean", int: "a number", float: "a number"}
    return next((text for kind, text in names.items() if isinstance(value, kind)), f"a {type(value).__name__}")


def require_conn_id(name: str, value: Any) -> str | None:
    """A connection id argument: a non-blank string, or ``None`` (blank) for the default connection."""
    if is_blank(value):
        return None
    if not isinstance(value, str):
        raise InvalidTarget(f"{name} must be a string (got {_a(value)} {value!r:.100})", field=name)
    return value.strip()


def require_flag(name: str, value: Any) -> bool:
    """A Python (not templated) boolean argument: ``True`` or ``False`` only (``"false"`` is truthy)."""
    if not isinstance(value, bool):
        raise InvalidTarget(f"{name} must be True or False (got {_a(value)} {value!r:.100})", field=name)
    return value


def require_seconds(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """A Python (not templated) number of seconds: finite and positive (or zero with ``allow_zero``)."""
    bound = ">= 0" if allow_zero else "> 0"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTarget(f"{name} must be a number of seconds {bound} (got {_a(value)} {value!r:.100})", field=name)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise InvalidTarget(f"{name} must be a finite number of seconds {bound} (got {value!r})", field=name)
    return float(value)


def require_count(name: str, value: Any, *, minimum: int) -> int:
    """A Python (not templated) whole number ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTarget(f"{name} must be a whole number >= {minimum} (got {_a(value)} {value!r:.100})", field=name)
    if value < minimum:
        raise InvalidTarget(f"{name} must be a whole number >= {minimum} (got {value!r})", field=name)
    return value


def require_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Return ``value`` lower-cased if it is one of ``choices``, or raise :class:`InvalidTarget`."""
    text = value.strip().lower() if isinstance(value, str) else None
    if text is None or text not in choices:
        raise InvalidTarget(f"{name} must be one of {', '.join(choices)} (got {value!r}).", field=name)
    return text


def path_segment(value: str) -> str:
    """Quote an id for use as one URL path segment (an id such as ``../x`` must not change the path)."""
    return quote(value, safe="")


class FieldErrors:
    """Collects every bad field of a target, so one :class:`InvalidTarget` can name them all."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def add(self, name: str, message: str) -> None:
        self.problems.append((name, message))

    def check(self, name: str, parse: Callable[[], T], default: Any = None) -> T:
        """Run ``parse()``; record its :class:`InvalidTarget` or :class:`ValueError` under ``name``."""
        try:
            return parse()
        except InvalidTarget as exc:
            for problem_field, message in exc.problems:
                self.add(problem_field or name, message)
        except ValueError as exc:
            self.add(name, f"{name} {exc}")
        return default

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidTarget(self.problems)


def require_json_safe(name: str, value: Any) -> Any:
    """Raise :class:`InvalidTarget` unless ``value`` survives a JSON round trip unchanged."""
    try:
        if json.loads(json.dumps(value)) == value:
            return value
    except (TypeError, ValueError):
        pass
    raise InvalidTarget(
        f"{name} must hold JSON values only (strings, numbers, booleans, lists, objects): {value!r:.200}"
    )


@dataclass(frozen=True)
class Target:
    """
    One thing to cancel at one vendor.

    Subclasses are frozen dataclasses whose fields are named exactly as the vendor operator's
    arguments, and implement :meth:`parse_fields`.

    :param conn_id: Airflow connection id; ``None`` means the vendor's default connection.
    """

    #: The target kind as written in ``{"vendor": ...}`` (for example ``suprsend_workflow``).
    kind: ClassVar[str]
    #: The vendor (registry name) whose hook and connection type serve this kind.
    vendor: ClassVar[str]
    #: A valid target of this kind, as a kill-switch user writes it (docs and contract tests use it).
    example: ClassVar[Mapping[str, Any]]
    conn_id: str | None = field(default=None, kw_only=True)

    @classmethod
    def parse(cls: type[TargetT], raw: Mapping[str, Any]) -> TargetT:
        """
        Build a target from what a DAG author or a rendered template gives, or raise one
        :class:`InvalidTarget` naming every bad field. Blank values mean "not given"; unknown fields
        are refused (a typo must not silently widen a cancel).
        """
        if not isinstance(raw, Mapping):
            raise InvalidTarget(f"a {cls.kind} target must be an object (got {type(raw).__name__})")
        errors = FieldErrors()
        names = {f.name for f in fields(cls)}
        for unknown in sorted(set(raw) - names - {"vendor"}):
            errors.add(unknown, f"unknown field {unknown!r} for {cls.kind}; allowed: {', '.join(sorted(names))}")
        conn_id = errors.check("conn_id", lambda: _optional_conn_id(raw.get("conn_id")))
        values = cls.parse_fields(raw, errors)
        errors.raise_if_any()
        return cls(conn_id=conn_id, **values)

    @classmethod
    def parse_fields(cls, raw: Mapping[str, Any], errors: FieldErrors) -> dict[str, Any]:
        """Validate this kind's own fields; record problems in ``errors`` rather than raising."""
        raise NotImplementedError

    @property
    def is_broad(self) -> bool:
        """Whether this target may match many campaigns or runs (a wide blast)."""
        return False

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, with ``vendor`` set to the kind; ``parse(to_dict())`` gives an equal target."""
        data: dict[str, Any] = {"vendor": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            data[f.name] = list(value) if isinstance(value, tuple) else value
        return data

    def describe(self) -> str:
        """One line for logs and reports, without the connection."""
        shown = {k: v for k, v in self.to_dict().items() if k not in ("vendor", "conn_id") and v not in (None, False)}
        return f"{self.kind} " + ", ".join(f"{k}={v!r}" for k, v in shown.items())

    def status_target(self, result: CancelResult | None = None) -> dict[str, Any] | None:
        """
        Keyword arguments of the vendor hook's ``get_status`` to confirm this target, given what its
        cancel answered (``result``); ``None`` when there is nothing to wait for.
        """
        return None


def _optional_conn_id(value: Any) -> str | None:
    return require_conn_id("conn_id", value)
