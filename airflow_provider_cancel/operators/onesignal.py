"""Cancel a scheduled or sending OneSignal notification."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.hooks.onesignal import OneSignalHook
from airflow_provider_cancel.operators.base import BaseCancelOperator
from airflow_provider_cancel.status import CancelResult
from airflow_provider_cancel.vendors.onesignal import OneSignalNotification


class OneSignalCancelNotificationOperator(BaseCancelOperator[OneSignalHook, OneSignalNotification]):
    """
    Cancel a OneSignal notification that is scheduled or being sent (the message is not deleted).

    Outcomes: ``cancelled``; ``already_cancelled`` (OneSignal refused it and it reads canceled) is a
    success too. A notification already sent to all recipients fails the task without retries
    (``CampaignFinishedError``). A message in the middle of sending may still reach some recipients.
    The cancel is a ``DELETE`` of one notification: a retried task repeats it, never a different cancel.

    :param notification_id: The notification (message) id (templated).
    :param onesignal_conn_id: Airflow connection id (templated; default ``onesignal_default``); it
        holds the app id.
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`
        (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``wait_timeout``...).
    """

    hook_class = OneSignalHook
    target_model = OneSignalNotification
    template_fields = ("notification_id", "onesignal_conn_id", "dry_run_flag")

    def __init__(
        self, *, notification_id: str, onesignal_conn_id: str = OneSignalHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.notification_id = notification_id
        self.onesignal_conn_id = onesignal_conn_id

    def cancel(self, context: Any) -> CancelResult:
        return self.hook.cancel_notification(self.target().notification_id)
