"""Stop a Mailchimp campaign: cancel it mid-send, or unschedule it before it starts. The action is explicit."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.hooks.mailchimp import MailchimpHook
from airflow_provider_cancel.operators.base import BaseCancelOperator
from airflow_provider_cancel.status import CancelResult
from airflow_provider_cancel.vendors.mailchimp import MailchimpCampaign


class MailchimpCancelCampaignOperator(BaseCancelOperator[MailchimpHook, MailchimpCampaign]):
    """
    Stop a Mailchimp campaign with the action you name; the operator never picks one for you.

    * ``action="cancel_send"``: ``POST /campaigns/{id}/actions/cancel-send`` stops a Regular or
      Plain-Text campaign that is sending, before all recipients get it (a Mailchimp Pro feature).
      The campaign goes ``canceling`` then ``canceled``; with ``wait_for_completion`` the task waits
      through ``canceling``. Delivered emails are not recalled.
    * ``action="unschedule"``: ``POST /campaigns/{id}/actions/unschedule`` takes back a scheduled
      campaign that has not started sending; it becomes a draft (``save``), so there is nothing to
      wait for afterwards.

    Outcomes: ``cancelled``; ``already_cancelled`` (Mailchimp refused and the campaign reads
    ``canceling``/``canceled``, or ``save`` after an unschedule) is a success too. A campaign that was
    already sent fails the task without retries (``CampaignFinishedError``); the wrong action for the
    campaign's status (unschedule while it sends, cancel_send while it is only scheduled) fails without
    retries and names the right one. Mailchimp has no idempotency key: the same action on the same
    campaign is harmless to repeat, so a retried task sends the same request.

    :param campaign_id: The Mailchimp campaign id (templated).
    :param action: ``cancel_send`` or ``unschedule`` (templated; required).
    :param mailchimp_conn_id: Airflow connection id (templated; default ``mailchimp_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`
        (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``wait_timeout``...).
    """

    hook_class = MailchimpHook
    target_model = MailchimpCampaign
    template_fields = ("campaign_id", "action", "mailchimp_conn_id", "dry_run_flag")

    def __init__(
        self,
        *,
        campaign_id: str,
        action: str,
        mailchimp_conn_id: str = MailchimpHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.campaign_id = campaign_id
        self.action = action
        self.mailchimp_conn_id = mailchimp_conn_id

    def cancel(self, context: Any) -> CancelResult:
        target = self.target()
        return self.hook.cancel_campaign(target.campaign_id, action=target.action)
