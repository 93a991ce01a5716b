"""Wait for an Arsel campaign to be cancelled or to finish."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.hooks.arsel import ArselHook
from airflow_provider_cancel.sensors.base import BaseCampaignStatusSensor
from airflow_provider_cancel.vendors.arsel import ArselCampaign


class ArselCampaignStatusSensor(BaseCampaignStatusSensor[ArselHook]):
    """
    Wait until an Arsel campaign is cancelled (or, with ``target_state="terminal"``, finished).

    Polls ``GET /{channel}/campaigns/{id}``. Terminal: sent, failed, cancelled, archived (any casing).

    :param campaign_id: The Arsel campaign id (templated).
    :param channel: ``email`` or ``sms`` (templated); defaults to the connection's ``default_channel``.
    :param arsel_conn_id: Airflow connection id (templated; default ``arsel_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.sensors.base.BaseCampaignStatusSensor`.
    """

    hook_class = ArselHook
    template_fields = ("campaign_id", "channel", "arsel_conn_id")

    def __init__(
        self,
        *,
        campaign_id: str,
        channel: str | None = None,
        arsel_conn_id: str = ArselHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.campaign_id = campaign_id
        self.channel = channel
        self.arsel_conn_id = arsel_conn_id

    def status_target(self) -> dict[str, Any]:
        target = ArselCampaign.parse({"campaign_id": self.campaign_id, "channel": self.channel}).status_target()
        return {**target, "channel": self.hook.channel(target["channel"])}
