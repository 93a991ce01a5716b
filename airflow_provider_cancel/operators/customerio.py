"""Cancel a scheduled trigger of an API-triggered Customer.io broadcast."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.hooks.customerio import CustomerIoHook
from airflow_provider_cancel.operators.base import BaseCancelOperator
from airflow_provider_cancel.status import CancelResult
from airflow_provider_cancel.vendors.customerio import CustomerIoBroadcastTrigger


class CustomerIoCancelBroadcastTriggerOperator(BaseCancelOperator[CustomerIoHook, CustomerIoBroadcastTrigger]):
    """
    Cancel a Customer.io broadcast trigger that was scheduled with ``scheduled_at``, before it fires.

    Outcomes: ``cancelled``; ``already_cancelled`` (an earlier call cancelled it) is a success too. A
    trigger that had already been processed (sent) fails the task without retries
    (``CampaignFinishedError``); a 409 while the broadcast resolves its audience or sends fails it
    too, naming the trigger's state. Cancelling one trigger is harmless to repeat, so a retried task
    sends the same request again and reads ``already_cancelled``: never a second, different cancel.

    Record the ``trigger_id`` when you schedule the send: Customer.io has no way to find it later
    from the API.

    :param broadcast_id: The broadcast's id, a whole number (templated).
    :param trigger_id: The trigger's id, a whole number (templated).
    :param customerio_conn_id: Airflow connection id (templated; default ``customerio_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`
        (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``wait_timeout``...).
    """

    hook_class = CustomerIoHook
    target_model = CustomerIoBroadcastTrigger
    template_fields = ("broadcast_id", "trigger_id", "customerio_conn_id", "dry_run_flag")

    def __init__(
        self,
        *,
        broadcast_id: str | int,
        trigger_id: str | int,
        customerio_conn_id: str = CustomerIoHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.broadcast_id = broadcast_id
        self.trigger_id = trigger_id
        self.customerio_conn_id = customerio_conn_id

    def cancel(self, context: Any) -> CancelResult:
        target = self.target()
        return self.hook.cancel_trigger(target.broadcast_id, target.trigger_id)
