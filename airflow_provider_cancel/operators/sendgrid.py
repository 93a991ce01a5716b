"""Stop a SendGrid send before it goes out: a scheduled send by ``batch_id``, or a Single Send.

No SendGrid API stops a send that is already under way; these operators only work before the send time.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.hooks.sendgrid import SendGridHook
from airflow_provider_cancel.operators.base import BaseCancelOperator
from airflow_provider_cancel.status import CancelResult
from airflow_provider_cancel.vendors.sendgrid import SendGridScheduledSend, SendGridSingleSend


class SendGridCancelScheduledSendOperator(BaseCancelOperator[SendGridHook, SendGridScheduledSend]):
    """
    Cancel (or pause) a scheduled SendGrid send by its ``batch_id``
    (``POST /v3/user/scheduled_sends {"batch_id", "status"}``).

    **Only before the send time, and only with a batch id given at send time.** The mail must have
    been sent with a ``batch_id`` (from ``POST /v3/mail/batch``) and a ``send_at``; a send without a
    batch id cannot be cancelled. SendGrid needs the cancel at least 10 minutes before ``send_at``;
    a cancelled batch is discarded at its send time, a paused one is held (and expires 72 hours after
    it). **No SendGrid API stops a send that is already under way**: SendGrid's advice for a runaway
    send is to change the account's password or contact support.

    Outcomes: ``cancelled``; ``already_cancelled`` (SendGrid refused and the batch already holds this
    action, or a cancel) is a success too. A paused batch asked to cancel is changed to cancel. Given
    ``send_at``, a send time that has passed fails the task without retries (``CampaignFinishedError``)
    and nothing is sent. SendGrid has no idempotency key; the same request for the same batch is
    harmless to repeat (a repeat is refused and read back), so a retried task sends the same request.

    :param batch_id: The batch id the mail was sent with (templated).
    :param action: ``cancel`` (default) or ``pause`` (templated).
    :param send_at: The send time given to SendGrid, Unix seconds or ISO 8601 (templated; optional).
    :param sendgrid_conn_id: Airflow connection id (templated; default ``sendgrid_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`
        (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``wait_timeout``...).
    """

    hook_class = SendGridHook
    target_model = SendGridScheduledSend
    template_fields = ("batch_id", "action", "send_at", "sendgrid_conn_id", "dry_run_flag")

    def __init__(
        self,
        *,
        batch_id: str,
        action: str = "cancel",
        send_at: int | str | None = None,
        sendgrid_conn_id: str = SendGridHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.batch_id = batch_id
        self.action = action
        self.send_at = send_at
        self.sendgrid_conn_id = sendgrid_conn_id

    def cancel(self, context: Any) -> CancelResult:
        target = self.target()
        return self.hook.cancel_scheduled_send(target.batch_id, action=target.action, send_at_s=target.send_at)


class SendGridUnscheduleSingleSendOperator(BaseCancelOperator[SendGridHook, SendGridSingleSend]):
    """
    Unschedule a SendGrid Marketing Campaigns Single Send (``DELETE /v3/marketing/singlesends/{id}/schedule``);
    it becomes a draft, kept for later.

    **Only before it is triggered. No SendGrid API stops a send that is already under way.**

    Outcomes: ``cancelled``; ``already_cancelled`` (SendGrid refused and the Single Send is a draft)
    is a success too. A Single Send that was already triggered fails the task without retries
    (``CampaignFinishedError``). The DELETE is harmless to repeat.

    :param single_send_id: The Single Send's id (templated).
    :param sendgrid_conn_id: Airflow connection id (templated; default ``sendgrid_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`.
    """

    hook_class = SendGridHook
    target_model = SendGridSingleSend
    template_fields = ("single_send_id", "sendgrid_conn_id", "dry_run_flag")

    def __init__(
        self, *, single_send_id: str, sendgrid_conn_id: str = SendGridHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.single_send_id = single_send_id
        self.sendgrid_conn_id = sendgrid_conn_id

    def cancel(self, context: Any) -> CancelResult:
        return self.hook.unschedule_single_send(self.target().single_send_id)
