"""The vendor registry: one :class:`VendorSpec` per vendor, found by module discovery.

Each module in this package describes one vendor: its ``VENDOR`` spec (plain data and dotted paths:
connection type and form, default base URL, hook, operators, sensor, target kinds, sandbox prefix and
key), its target models and its HTTP-free logic (status tables, answer interpretation). Provider
info, the kill switch, the test harness and the contract tests read vendors from here, so adding a
vendor is adding a module: no base module and no list of vendors changes.

Import-light on purpose: Airflow calls ``get_provider_info()`` on every provider discovery, and that
reads this registry. Vendor modules import no Airflow, no HTTP client and no hook.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from airflow_provider_cancel.exceptions import InvalidTarget

#: Connection-form fields every vendor has (Airflow 3.2+ builds the form from this metadata alone).
TIMEOUT_FIELDS: dict[str, Any] = {
    "timeout": {
        "label": "Read timeout (seconds)",
        "description": "Seconds to wait for the vendor to answer a request (empty means 30).",
        "schema": {"type": ["number", "null"], "minimum": 1, "maximum": 600, "default": 30},
    },
    "connect_timeout": {
        "label": "Connect timeout (seconds)",
        "description": "Seconds to wait for the TCP/TLS connection (empty means 10).",
        "schema": {"type": ["number", "null"], "minimum": 1, "maximum": 120, "default": 10},
    },
}
# Schema, port and login mean nothing to these REST APIs, so the form hides them.
HIDDEN_STANDARD_FIELDS = ("schema", "port", "login")


@dataclass(frozen=True)
class VendorSpec:
    """
    Everything the provider needs to know about one vendor, as plain data.

    :param name: Short vendor name, also the module name (for example ``arsel``).
    :param display_name: The vendor as people know it (integration name, hook name).
    :param docs_url: The vendor's API documentation.
    :param conn_type: Airflow connection type.
    :param default_base_url: The vendor's production API root.
    :param hook: Dotted path of the hook class.
    :param operators: Dotted paths of the cancel operators.
    :param sensor: Dotted path of the status sensor, if the vendor has its own.
    :param target_kinds: Kill-switch kind name -> dotted path of its :class:`~airflow_provider_cancel.targets.Target`.
    :param password_label: How the form labels the secret (``API key``, ``Access token``).
    :param password_placeholder: The form's placeholder for the secret.
    :param extra_fields: Vendor-specific connection-form fields (``conn-fields`` schema).
    :param rate_limit_per_second: The vendor's documented request rate per account, if it has one: the
        kill switch paces its requests to it (``None``: no pacing of our own; the vendor's 429s still are).
    :param sandbox: Dotted path of the sandbox vendor class (tests and demo only).
    :param sandbox_prefix: URL path under which the sandbox serves this vendor.
    :param sandbox_key: The key the sandbox accepts by default.
    :param sandbox_extras: Connection extras the sandbox needs (for example Periskope's phone).
    """

    name: str
    display_name: str
    docs_url: str
    conn_type: str
    default_base_url: str
    hook: str
    operators: tuple[str, ...]
    sensor: str | None
    target_kinds: Mapping[str, str]
    password_label: str = "API key"
    password_placeholder: str | None = None
    extra_fields: Mapping[str, Any] = field(default_factory=dict)
    rate_limit_per_second: float | None = None
    sandbox: str = ""
    sandbox_prefix: str = ""
    sandbox_key: str = ""
    sandbox_extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def default_conn_id(self) -> str:
        return f"{self.conn_type}_default"

    def modules(self, layer: str) -> list[str]:
        """The modules of ``layer`` (``hooks``, ``operators``, ``sensors``) that hold this vendor's classes."""
        paths = {
            "hooks": [self.hook],
            "operators": list(self.operators),
            "sensors": [self.sensor] if self.sensor else [],
        }
        return sorted({p.rpartition(".")[0] for p in paths[layer]})

    def connection_type(self) -> dict[str, Any]:
        """The ``connection-types`` entry of provider info: what the UI's connection form shows."""
        return {
            "connection-type": self.conn_type,
            "hook-class-name": self.hook,
            "hook-name": self.display_name,
            "ui-field-behaviour": {
                "hidden-fields": list(HIDDEN_STANDARD_FIELDS),
                "relabeling": {"host": "Base URL", "password": self.password_label},
                "placeholders": {
                    "host": self.default_base_url,
                    "password": self.password_placeholder or f"Your {self.display_name} {self.password_label}",
                },
            },
            "conn-fields": {**self.extra_fields, **TIMEOUT_FIELDS},
        }


@cache
def vendors() -> dict[str, VendorSpec]:
    """Every vendor module's ``VENDOR``, by name, in module-name order."""
    found: dict[str, VendorSpec] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        spec = getattr(importlib.import_module(f"{__name__}.{info.name}"), "VENDOR", None)
        if isinstance(spec, VendorSpec):
            found[spec.name] = spec
    return found


def vendor(name: str) -> VendorSpec:
    """The spec of vendor ``name``; :class:`KeyError` naming the known vendors otherwise."""
    try:
        return vendors()[name]
    except KeyError:
        raise KeyError(f"unknown vendor {name!r}; known: {', '.join(vendors())}") from None


def import_path(path: str) -> Any:
    """Import ``package.module.Name`` and return ``Name``."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def target_kinds() -> dict[str, str]:
    """Kill-switch target kind -> dotted path of its target model, over every vendor."""
    return {kind: path for spec in vendors().values() for kind, path in spec.target_kinds.items()}


def vendor_of_kind(kind: str) -> VendorSpec:
    """The vendor that serves target kind ``kind``."""
    for spec in vendors().values():
        if kind in spec.target_kinds:
            return spec
    raise KeyError(f"unknown target kind {kind!r}; known: {', '.join(target_kinds())}")


def parse_target(raw: Mapping[str, Any]) -> Any:
    """One ``{"vendor": "<kind>", ...}`` object as its typed target, or :class:`InvalidTarget`."""
    if not isinstance(raw, Mapping):
        raise InvalidTarget(f"a target must be an object with a 'vendor' field (got {type(raw).__name__})")
    kind = raw.get("vendor")
    kinds = target_kinds()
    if kind is None or kind == "":
        raise InvalidTarget(
            f"vendor is missing: every target names its kind, one of {', '.join(kinds)}", field="vendor"
        )
    if not isinstance(kind, str) or kind not in kinds:
        raise InvalidTarget(f"unknown vendor {kind!r:.100}; known: {', '.join(kinds)}", field="vendor")
    return import_path(kinds[kind]).parse(raw)


def parse_targets(raw: Sequence[Mapping[str, Any]]) -> list[Any]:
    """
    Validate a mixed list of targets in one call, with no Airflow and no HTTP.

    Returns the typed targets in order, or raises one :class:`InvalidTarget` listing every problem
    by position and field (``targets[2].campaign_id: ...``), duplicates included.
    """
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raise InvalidTarget(f"targets must be a list of objects (got {type(raw).__name__})", field="targets")
    problems: list[tuple[str, str]] = []
    parsed: list[Any] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw):
        where = f"targets[{index}]"
        try:
            target = parse_target(item)
        except InvalidTarget as exc:
            problems.extend((f"{where}.{name}" if name else where, message) for name, message in exc.problems)
            continue
        identity = repr(sorted((k, repr(v)) for k, v in target.to_dict().items()))
        if identity in seen:
            problems.append((where, f"duplicate of targets[{seen[identity]}] ({target.describe()})"))
            continue
        seen[identity] = index
        parsed.append(target)
    if len(problems) == 1:  # alone, a problem's message must still say which target it is about
        name, message = problems[0]
        problems = [(name, message if message.startswith(name) else f"{name}: {message}")]
    if problems:
        raise InvalidTarget(problems)
    return parsed
