"""Wait for a Periskope broadcast to be stopped (cancelled) or to reach any terminal state."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.hooks.periskope import PeriskopeHook
from airflow_provider_cancel.sensors.base import BaseCampaignStatusSensor
from airflow_provider_cancel.vendors.periskope import PeriskopeBroadcast, deleted_cancel_status


class PeriskopeBroadcastStatusSensor(BaseCampaignStatusSensor[PeriskopeHook]):
    """
    Wait until a Periskope broadcast is cancelled (or, with ``target_state="terminal"``, finished).

    Polls ``GET /queue/broadcast?broadcast_id=``. ``broadcast_status`` (any casing): null (not
    started) and ``inprogress`` keep it waiting; ``stopped`` is cancelled; ``completed`` (every
    message sent) and ``expired`` (ended by itself, undelivered) are terminal but not cancelled, so
    waiting for ``cancelled`` fails at once. A 404 is a clear failure, unless ``cancel_status`` is
    ``deleted``: a broadcast deleted before it started leaves no record, so then 404 is cancelled.

    :param broadcast_id: The Periskope ``broadcast_id`` (templated).
    :param cancel_status: What the cancel answered (templated), e.g.
        ``"{{ ti.xcom_pull(task_ids='cancel_broadcast')['vendor_status'] }}"``. Only ``deleted``
        changes anything (see above); other values are ignored.
    :param periskope_conn_id: Airflow connection id (templated; default ``periskope_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.sensors.base.BaseCampaignStatusSensor`.
    """

    hook_class = PeriskopeHook
    template_fields = ("broadcast_id", "cancel_status", "periskope_conn_id")

    def __init__(
        self,
        *,
        broadcast_id: str,
        cancel_status: str | None = None,
        periskope_conn_id: str = PeriskopeHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.broadcast_id = broadcast_id
        self.cancel_status = cancel_status
        self.periskope_conn_id = periskope_conn_id

    def status_target(self) -> dict[str, Any]:
        target = PeriskopeBroadcast.parse({"broadcast_id": self.broadcast_id}).status_target()
        if deleted_cancel_status(self.cancel_status):
            target["cancel_status"] = "deleted"
        return target
