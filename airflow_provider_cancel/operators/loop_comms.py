"""Cancel a Loop Health comms admin campaign."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.hooks.loop_comms import LoopCommsHook
from airflow_provider_cancel.operators.base import BaseCancelOperator
from airflow_provider_cancel.status import CancelResult
from airflow_provider_cancel.vendors.loop_comms import LoopCommsCampaign


class LoopCommsCancelCampaignOperator(BaseCancelOperator[LoopCommsHook, LoopCommsCampaign]):
    """
    Cancel one Loop Health comms campaign (``POST /v1/admin/campaigns/{id}/cancel``).

    Outcomes: ``cancelled``; ``already_cancelled`` when the campaign was cancelled before this call
    (its ``cancelled_at`` predates it, or a refused re-cancel is shown cancelled by a campaign in the
    error body or by the send history) is a success too. A refusal's wording is never proof: a
    refusal with a send still running and nothing showing the campaign cancelled fails the task.
    A campaign that had already been sent (or failed) fails the task without retries. Cancelling
    one campaign is harmless to repeat, so a 500 (which may or may not have cancelled it) is
    retried and a retried task simply cancels the same campaign again.

    With ``wait_for_completion=True`` it then waits until no send of the campaign is still running
    (every send in ``/history`` has ``completed_at``): messages already handed over may still be
    going out for a while after the cancel.

    :param campaign_id: The comms campaign id (templated).
    :param loop_comms_conn_id: Airflow connection id (templated; default ``loop_comms_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`
        (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``wait_timeout``...).
    """

    hook_class = LoopCommsHook
    target_model = LoopCommsCampaign
    template_fields = ("campaign_id", "loop_comms_conn_id", "dry_run_flag")

    def __init__(
        self,
        *,
        campaign_id: str,
        loop_comms_conn_id: str = LoopCommsHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.campaign_id = campaign_id
        self.loop_comms_conn_id = loop_comms_conn_id

    def cancel(self, context: Any) -> CancelResult:
        return self.hook.cancel_campaign(self.target().campaign_id)
