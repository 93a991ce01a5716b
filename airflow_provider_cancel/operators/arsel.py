"""Cancel an Arsel email or SMS campaign."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.hooks.arsel import ArselHook
from airflow_provider_cancel.operators.base import BaseCancelOperator
from airflow_provider_cancel.status import CancelResult
from airflow_provider_cancel.vendors.arsel import ArselCampaign


class ArselCancelCampaignOperator(BaseCancelOperator[ArselHook, ArselCampaign]):
    """
    Cancel a scheduled, queued or sending Arsel campaign (email or SMS).

    Outcomes: ``cancelled``; ``already_cancelled`` (it was cancelled before, for example by an
    earlier try) is a success too. A campaign that had already been sent or failed fails the task
    without retries. The request carries an ``Idempotency-Key`` derived from the task instance and
    campaign, so a retried task repeats the same request instead of cancelling twice.

    :param campaign_id: The Arsel campaign id (templated).
    :param channel: ``email`` or ``sms`` (templated); defaults to the connection's ``default_channel``.
    :param arsel_conn_id: Airflow connection id (templated; default ``arsel_default``).
    :param idempotency_key: Override the derived ``Idempotency-Key`` (templated; at most 256 characters).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`
        (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``wait_timeout``...).
    """

    hook_class = ArselHook
    target_model = ArselCampaign
    template_fields = ("campaign_id", "channel", "idempotency_key", "arsel_conn_id", "dry_run_flag")

    def __init__(
        self,
        *,
        campaign_id: str,
        channel: str | None = None,
        arsel_conn_id: str = ArselHook.default_conn_name,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.campaign_id = campaign_id
        self.channel = channel
        self.arsel_conn_id = arsel_conn_id
        self.idempotency_key = idempotency_key

    def cancel(self, context: Any) -> CancelResult:
        target = self.target()
        channel = self.hook.channel(target.channel)
        key = target.idempotency_key or self.stable_request_key(context, "arsel", channel, target.campaign_id)
        return self.hook.cancel_campaign(target.campaign_id, channel=channel, idempotency_key=key)
