"""Cancel a Klaviyo campaign's send job, or revert the campaign to draft."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.hooks.klaviyo import KlaviyoHook
from airflow_provider_cancel.operators.base import BaseCancelOperator
from airflow_provider_cancel.status import CancelResult
from airflow_provider_cancel.vendors.klaviyo import KlaviyoCampaign


class KlaviyoCancelCampaignOperator(BaseCancelOperator[KlaviyoHook, KlaviyoCampaign]):
    """
    Cancel a Klaviyo campaign that is scheduled or sending (``PATCH /campaign-send-jobs/{id}``).

    ``action="cancel"`` (default) cancels the campaign for good; ``action="revert"`` puts a campaign
    that has not started sending back to draft (nothing to wait for afterwards). A mid-send cancel
    stops the messages Klaviyo has not handed over yet; delivered ones are not recalled.

    Outcomes: ``cancelled``; ``already_cancelled`` (Klaviyo refused and the campaign reads
    ``Cancelled...``, or a draft after a revert) is a success too. A campaign that was already sent
    fails the task without retries (``CampaignFinishedError``). Klaviyo has no idempotency key; the
    same PATCH of the same campaign is harmless to repeat, so a retried task sends the same request.

    :param campaign_id: The Klaviyo campaign id, which is also its send job's id (templated).
    :param action: ``cancel`` or ``revert`` (templated; default ``cancel``).
    :param klaviyo_conn_id: Airflow connection id (templated; default ``klaviyo_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`
        (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``wait_timeout``...).
    """

    hook_class = KlaviyoHook
    target_model = KlaviyoCampaign
    template_fields = ("campaign_id", "action", "klaviyo_conn_id", "dry_run_flag")

    def __init__(
        self,
        *,
        campaign_id: str,
        action: str = "cancel",
        klaviyo_conn_id: str = KlaviyoHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.campaign_id = campaign_id
        self.action = action
        self.klaviyo_conn_id = klaviyo_conn_id

    def cancel(self, context: Any) -> CancelResult:
        target = self.target()
        return self.hook.cancel_campaign(target.campaign_id, action=target.action)
