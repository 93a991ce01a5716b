"""Wait for an Arsel campaign to be cancelled or to finish."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.hooks.arsel import ARSEL_CHANNELS, ArselHook
from airflow_provider_cancel.sensors.base import BaseCampaignStatusSensor
from airflow_provider_cancel.validation import require_choice, require_id


class ArselCampaignStatusSensor(BaseCampaignStatusSensor):
    """
    Wait until an Arsel campaign is cancelled (or, with ``target_state="terminal"``, finished).

    Polls ``GET /{channel}/campaigns/{id}``. Terminal: sent, failed, cancelled, archived (any casing).

    :param campaign_id: The Arsel campaign id (templated).
    :param channel: ``email`` or ``sms`` (templated); defaults to the connection's ``default_channel``.
    :param arsel_conn_id: Airflow connection id (default ``arsel_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.sensors.base.BaseCampaignStatusSensor`.
    """

    hook_class = ArselHook
    template_fields = ("campaign_id", "channel")

    def __init__(
        self,
        *,
        campaign_id: str,
        channel: str | None = None,
        arsel_conn_id: str = ArselHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=arsel_conn_id, **kwargs)
        self.campaign_id = campaign_id
        self.channel = channel
        self.arsel_conn_id = arsel_conn_id

    def status_target(self) -> dict[str, Any]:
        campaign_id = require_id("campaign_id", self.campaign_id)
        channel = None if self.channel is None else require_choice("channel", self.channel, ARSEL_CHANNELS)
        return {"campaign_id": campaign_id, "channel": self.hook.channel(channel)}
