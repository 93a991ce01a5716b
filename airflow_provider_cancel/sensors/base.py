"""Sensors that wait until a campaign is cancelled (or terminal) at its vendor."""

from __future__ import annotations

import inspect
import json
from functools import cached_property, partial
from typing import Any, Generic, TypeVar

from airflow.providers.common.compat.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_cancel.exceptions import CampaignFinishedError, InvalidTarget
from airflow_provider_cancel.hooks.base import CampaignVendorHook
from airflow_provider_cancel.operators.policy import DEFAULT_RETRY_POLICY, retry_policy_kwargs, task_failure_policy
from airflow_provider_cancel.status import CampaignState, Reach, reach, unreachable_message
from airflow_provider_cancel.targets import (
    FieldErrors,
    require_conn_id,
    require_count,
    require_flag,
    require_json_safe,
    require_plain_id,
)
from airflow_provider_cancel.utils.deferral import (
    check_target_state,
    default_deferrable,
    defer_until,
    status_from_event,
)

HookT = TypeVar("HookT", bound=CampaignVendorHook)


class BaseCampaignStatusSensor(BaseSensorOperator, Generic[HookT]):
    """
    Wait until a campaign reaches ``target_state``, in poke/reschedule mode or deferred.

    Succeeds on ``cancelled`` (or any terminal state with ``target_state="terminal"``) and pushes
    the final status to XCom. Fails at once, without retries, if the campaign ends in another
    terminal state (for example it was sent) while waiting for ``cancelled``, and on answers a retry
    cannot change (401, 403, 404), whether seen on the worker or in the triggerer. An unrecognised
    vendor status is ``unknown``: the sensor keeps waiting and logs it.

    In deferrable mode it pokes once on the worker and then defers to
    :class:`~airflow_provider_cancel.triggers.campaign_status.CampaignStatusTrigger` with the
    sensor's ``timeout``, so running out of time raises ``AirflowSensorTimeout``. Killing the
    deferred task cancels nothing at the vendor: the sensor only reads.

    :param target_state: ``"cancelled"`` (default) or ``"terminal"``.
    :param deferrable: Wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param retry_limit: HTTP attempts per status request, on the worker and in the trigger.
    :param retry_policy: Airflow 3.3+: the task's retry policy. Defaults to
        :class:`~airflow_provider_cancel.operators.policy.CancelRetryPolicy` (fail at once on what no
        retry can fix, retry a 429 or 5xx after the vendor's ``Retry-After``); ``None`` for none. Not
        passed to Airflow < 3.3, which has no retry policies.
    """

    hook_class: type[HookT]

    def __init__(
        self,
        *,
        target_state: str = "cancelled",
        deferrable: bool | None = None,
        retry_limit: int = 3,
        retry_policy: Any = DEFAULT_RETRY_POLICY,
        **kwargs: Any,
    ) -> None:
        super().__init__(**retry_policy_kwargs(retry_policy), **kwargs)
        self.target_state = check_target_state(target_state)
        self.deferrable = default_deferrable() if deferrable is None else require_flag("deferrable", deferrable)
        self.retry_limit = require_count("retry_limit", retry_limit, minimum=1)  # not templated: checked at parse
        self._unknown_logged: set[str | None] = set()

    @property
    def vendor_hook_class(self) -> type[HookT]:
        return self.hook_class

    def conn_id_field(self) -> str:
        """The attribute holding the connection id (``arsel_conn_id``...)."""
        return self.vendor_hook_class.conn_name_attr

    @property
    def resolved_conn_id(self) -> str:
        """The (rendered) connection id, or the vendor's default when blank; :class:`InvalidTarget` if not a string."""
        field = self.conn_id_field()
        return require_conn_id(field, getattr(self, field, None)) or self.vendor_hook_class.default_conn_name

    @cached_property
    def hook(self) -> HookT:
        return self.vendor_hook_class(self.resolved_conn_id, retry_limit=self.retry_limit)

    def status_target(self) -> dict[str, Any]:
        """Keyword arguments for the hook's ``get_status``, built from the rendered template fields."""
        raise NotImplementedError

    def poke(self, context: Any) -> PokeReturnValue:
        with task_failure_policy(self.vendor_hook_class.non_retryable_codes):
            status = self.hook.get_status(**self.status_target())
            if status.state is CampaignState.UNKNOWN and status.raw_status not in self._unknown_logged:
                self._unknown_logged.add(status.raw_status)
                self.log.warning("Unrecognised status %r; treating it as not final", status.raw_status)
            where = reach(status, self.target_state)
            if where is Reach.UNREACHABLE:
                raise CampaignFinishedError(unreachable_message(status))
        done = where is Reach.REACHED
        self.log.info("%s%s", status.describe(), "" if done else "; waiting")
        return PokeReturnValue(is_done=done, xcom_value=status.to_dict() if done else None)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        first = self.poke(context)
        if first.is_done:
            return first.xcom_value
        with task_failure_policy():
            defer_until(
                self,
                hook_class=self.vendor_hook_class,
                conn_id=self.resolved_conn_id,
                target=self.status_target(),
                target_state=self.target_state,
                poll_interval=self.poke_interval,
                timeout=self.timeout,
                retry_limit=self.retry_limit,
            )
        return None

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        with task_failure_policy(self.vendor_hook_class.non_retryable_codes):
            status = status_from_event(event)
        self.log.info("Done: %s", status.describe())
        return status.to_dict()


class CampaignStatusSensor(BaseCampaignStatusSensor[CampaignVendorHook]):
    """
    Wait until a campaign at any registered vendor is cancelled (or terminal), given its status target.

    The generic sensor: it needs no vendor-specific class. ``target`` holds the keyword arguments of
    the vendor hook's ``get_status``, for example ``{"campaign_id": "c1", "channel": "email"}`` for
    Arsel, ``{"broadcast_id": "b1"}`` for Periskope, or what a cancel operator's ``final_status``
    was computed from. The vendor-specific sensors are this sensor with named arguments.

    :param vendor: A registered vendor name (``arsel``, ``suprsend``, ``periskope``, ``loop_comms``...).
    :param target: The status target: a dict, or its JSON text as a template renders it (templated).
    :param conn_id: Airflow connection id (templated); defaults to the vendor's default connection.
    :param kwargs: See :class:`BaseCampaignStatusSensor`.
    """

    template_fields = ("target", "conn_id")

    def __init__(self, *, vendor: str, target: dict[str, Any] | str, conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vendor = vendor
        self.target = target
        self.conn_id = conn_id
        try:  # not templated: an unknown vendor fails when the DAG is parsed
            self.vendor_hook_class  # noqa: B018
        except KeyError as exc:
            raise InvalidTarget(str(exc.args[0]), field="vendor") from None

    @property
    def vendor_hook_class(self) -> type[CampaignVendorHook]:
        from airflow_provider_cancel.vendors import import_path, vendor

        if not isinstance(self.vendor, str):
            raise KeyError(f"vendor must be a registered vendor's name (got {self.vendor!r:.100})")
        hook_class = import_path(vendor(self.vendor).hook)
        if not (isinstance(hook_class, type) and issubclass(hook_class, CampaignVendorHook)):
            raise TypeError(f"{vendor(self.vendor).hook} is not a CampaignVendorHook")
        return hook_class

    def conn_id_field(self) -> str:
        return "conn_id"

    def status_target(self) -> dict[str, Any]:
        target: Any = self.target
        if isinstance(target, str):
            try:
                target = json.loads(target)
            except ValueError:
                raise InvalidTarget(f"target must be a JSON object (got {target[:100]!r})", field="target") from None
        if not isinstance(target, dict):
            raise InvalidTarget(f"target must be an object (got {type(target).__name__})", field="target")
        target = dict(require_json_safe("target", target))
        check_status_target(self.vendor_hook_class, target)
        return target


def check_status_target(hook_class: type[CampaignVendorHook], target: dict[str, Any]) -> None:
    """
    Refuse a status target the vendor hook's ``get_status`` cannot take, naming every bad key.

    Keys must be the hook's ``get_status`` arguments (or its ``status_request``'s, when ``get_status``
    is the generic one) and the required ones must be there. Values of ``*_id`` keys must be one id
    (:func:`~airflow_provider_cancel.targets.require_plain_id`), and ``*_ids`` lists hold such ids.
    """
    method = hook_class.get_status
    params = _named_params(method)
    if params is None:
        params = _named_params(hook_class.status_request) or {}
    errors = FieldErrors()
    for unknown in sorted(set(target) - set(params)):
        errors.add(
            f"target.{unknown}", f"target has no field {unknown!r}; {hook_class.vendor} takes {', '.join(params)}"
        )
    for name, param in params.items():
        if param.default is inspect.Parameter.empty and name not in target:
            errors.add(f"target.{name}", f"target is missing {name!r} ({hook_class.vendor} takes {', '.join(params)})")
    for name, value in target.items():
        if name.endswith("_id"):
            errors.check(f"target.{name}", partial(require_plain_id, f"target.{name}", value))
        elif name.endswith("_ids") and isinstance(value, list):
            for item in value:
                errors.check(f"target.{name}", partial(require_plain_id, f"target.{name}[]", item))
    errors.raise_if_any()


def _named_params(method: Any) -> dict[str, inspect.Parameter] | None:
    """A method's keyword-able parameters after ``self``; ``None`` when it takes ``**kwargs`` (any key)."""
    params = list(inspect.signature(method).parameters.values())[1:]
    if any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in params):
        return None
    return {p.name: p for p in params}
