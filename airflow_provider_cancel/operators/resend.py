"""Cancel a Resend broadcast or a scheduled Resend email."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.hooks.resend import ResendHook
from airflow_provider_cancel.operators.base import BaseCancelOperator
from airflow_provider_cancel.status import CancelResult
from airflow_provider_cancel.vendors.resend import ResendBroadcast, ResendEmail


class ResendCancelBroadcastOperator(BaseCancelOperator[ResendHook, ResendBroadcast]):
    """
    Cancel a Resend broadcast: a scheduled one goes back to draft (nothing sent), a queued one stops mid-send.

    Outcomes: ``cancelled``; ``already_cancelled`` (Resend refused it and it reads canceled) and
    ``nothing_to_cancel`` (refused, and it is a draft: nothing is scheduled to go out) are successes
    too. A broadcast that was sent or failed fails the task without retries
    (``CampaignFinishedError``). Emails already sent are not recalled. Cancelling one broadcast is
    harmless to repeat, so a retried task sends the same request: never a second, different cancel.
    With ``wait_for_completion`` the wait counts a broadcast back in draft as cancelled.

    :param broadcast_id: The Resend broadcast id (templated).
    :param resend_conn_id: Airflow connection id (templated; default ``resend_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`
        (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``wait_timeout``...).
    """

    hook_class = ResendHook
    target_model = ResendBroadcast
    template_fields = ("broadcast_id", "resend_conn_id", "dry_run_flag")

    def __init__(self, *, broadcast_id: str, resend_conn_id: str = ResendHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.broadcast_id = broadcast_id
        self.resend_conn_id = resend_conn_id

    def cancel(self, context: Any) -> CancelResult:
        return self.hook.cancel_broadcast(self.target().broadcast_id)


class ResendCancelEmailOperator(BaseCancelOperator[ResendHook, ResendEmail]):
    """
    Cancel a Resend email that was sent with ``scheduled_at``, before it goes out.

    Outcomes: ``cancelled``; ``already_cancelled`` (Resend refused it and its ``last_event`` is
    canceled) is a success too. An email that already went out fails the task without retries
    (``CampaignFinishedError``). Cancelling one email is harmless to repeat.

    :param email_id: The Resend email id returned when it was scheduled (templated).
    :param resend_conn_id: Airflow connection id (templated; default ``resend_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`.
    """

    hook_class = ResendHook
    target_model = ResendEmail
    template_fields = ("email_id", "resend_conn_id", "dry_run_flag")

    def __init__(self, *, email_id: str, resend_conn_id: str = ResendHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.email_id = email_id
        self.resend_conn_id = resend_conn_id

    def cancel(self, context: Any) -> CancelResult:
        return self.hook.cancel_email(self.target().email_id)
