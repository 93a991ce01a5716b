"""Wait until a Loop Health comms campaign is cancelled and none of its sends is still running."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.hooks.loop_comms import LoopCommsHook
from airflow_provider_cancel.sensors.base import BaseCampaignStatusSensor
from airflow_provider_cancel.vendors.loop_comms import status_target


class LoopCommsCampaignStatusSensor(BaseCampaignStatusSensor[LoopCommsHook]):
    """
    Wait until a Loop Health comms campaign is cancelled (or, with ``target_state="terminal"``, finished).

    Comms has no GET for a campaign, so this polls ``GET /v1/admin/campaigns/{id}/history`` and
    combines it with what the cancel answered:

    * **With the cancel's facts** (``cancel_status`` and/or ``cancelled_at``, e.g. from the cancel
      task's XCom ``vendor_status`` and ``detail.cancelled_at``): cancelled once every send has
      ``completed_at``; waiting while one still runs. Pass only what a campaign object answered,
      never a guess such as "the cancel task succeeded, so ``cancelled``": with these facts a send
      that finishes normally also counts as done.
    * **Without them**, history alone can tell: a send running (waiting), a send stopped by a
      cancel (its status is cancelled-like: success), every send finished normally (the campaign was
      sent: fails at once when waiting for ``cancelled``). It *cannot* tell a campaign cancelled
      before any send from a draft or scheduled one (no sends either way): that is ``unknown``
      and the sensor waits until its timeout, unless ``refusal_hint="cancelled"`` (the cancel task's
      ``detail.refusal_hint``: a refusal worded "already cancelled" with an empty history) breaks
      that tie. The hint counts only while history has no sends at all.

    :param campaign_id: The comms campaign id (templated).
    :param cancel_status: The ``status`` the cancel answered (templated; optional).
    :param cancelled_at: The ``cancelled_at`` the cancel answered (templated; optional). Rendered
        ``None``/``null``/empty values count as absent.
    :param refusal_hint: ``detail.refusal_hint`` of the cancel task's result (templated; optional).
    :param loop_comms_conn_id: Airflow connection id (templated; default ``loop_comms_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.sensors.base.BaseCampaignStatusSensor`.
    """

    hook_class = LoopCommsHook
    template_fields = ("campaign_id", "cancel_status", "cancelled_at", "refusal_hint", "loop_comms_conn_id")

    def __init__(
        self,
        *,
        campaign_id: str,
        cancel_status: str | None = None,
        cancelled_at: str | None = None,
        refusal_hint: str | None = None,
        loop_comms_conn_id: str = LoopCommsHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.campaign_id = campaign_id
        self.cancel_status = cancel_status
        self.cancelled_at = cancelled_at
        self.refusal_hint = refusal_hint
        self.loop_comms_conn_id = loop_comms_conn_id

    def status_target(self) -> dict[str, Any]:
        return status_target(self.campaign_id, self.cancel_status, self.cancelled_at, self.refusal_hint)
