"""Stop or delete a Periskope WhatsApp broadcast, or purge queued Periskope jobs."""

from __future__ import annotations

from typing import Any

from airflow_provider_cancel.hooks.periskope import PeriskopeHook, purge_request
from airflow_provider_cancel.operators.base import BaseCancelOperator
from airflow_provider_cancel.status import CancelResult
from airflow_provider_cancel.validation import require_id


class PeriskopeCancelBroadcastOperator(BaseCancelOperator):
    """
    Cancel a Periskope broadcast: delete it if it has not started, stop it if it is sending.

    Sends ``DELETE /message/broadcast/{broadcast_id}``. Outcomes (``vendor_status`` in brackets):
    ``cancelled`` (``deleted``: it had not started, no credits are charged; ``stopped``: it was
    sending, unsent messages are cancelled and refunded); ``already_stopped`` when Periskope answers
    409 because the broadcast was already in a terminal state (``vendor_status`` is then the status
    read back, e.g. ``completed`` when every message had gone out). A 404 ("not found or not in your
    organisation") and a 401 fail the task without retries. Retrying the task is safe: the DELETE
    names one broadcast, and a repeat answers 409 (``already_stopped``).

    With ``wait_for_completion=True`` it then polls ``GET /queue/broadcast`` until the broadcast is
    ``stopped``; after a ``deleted`` answer, the 404 of the vanished record counts as cancelled.
    Waiting for ``cancelled`` on a broadcast that had already ``completed`` fails clearly.

    :param broadcast_id: The Periskope ``broadcast_id`` (templated).
    :param periskope_conn_id: Airflow connection id (default ``periskope_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`
        (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``wait_timeout``...).
    """

    hook_class = PeriskopeHook
    template_fields = ("broadcast_id",)

    def __init__(
        self, *, broadcast_id: str, periskope_conn_id: str = PeriskopeHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(conn_id=periskope_conn_id, **kwargs)
        self.broadcast_id = broadcast_id
        self.periskope_conn_id = periskope_conn_id

    def validate(self) -> None:
        require_id("broadcast_id", self.broadcast_id)

    def cancel(self, context: Any) -> CancelResult:
        return self.hook.cancel_broadcast(self.broadcast_id)

    def status_target(self, result: CancelResult) -> dict[str, Any]:
        # The trigger must know a 404 follows our own delete: it cannot see this result otherwise.
        if result.vendor_status == "deleted":
            return {**result.target, "cancel_status": "deleted"}
        return dict(result.target)


class PeriskopePurgeQueueOperator(BaseCancelOperator):
    """
    Remove queued (not yet sent) Periskope jobs: ``POST /message/queues/purge``.

    Give exactly one of ``broadcast_id`` (that broadcast's queued jobs) or ``queue_ids``. Periskope
    purges *every* queued job of the organisation when the body is empty, so that is sent only
    with the explicit opt-in ``purge_all=True`` (a literal ``True``, never templated). Anything else
    fails before a request is sent. Outcomes: ``cancelled`` (``detail.purged`` jobs removed) or
    ``nothing_to_cancel`` (nothing was queued). There is nothing to wait for afterwards.

    :param broadcast_id: Purge this broadcast's queued jobs (templated).
    :param queue_ids: Purge these queue jobs: a list, or a comma-separated string (templated).
    :param purge_all: Purge every queued job of the organisation. Default ``False``.
    :param periskope_conn_id: Airflow connection id (default ``periskope_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`.
    """

    hook_class = PeriskopeHook
    template_fields = ("broadcast_id", "queue_ids")

    def __init__(
        self,
        *,
        broadcast_id: str | None = None,
        queue_ids: list[str] | str | None = None,
        purge_all: bool = False,
        periskope_conn_id: str = PeriskopeHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(conn_id=periskope_conn_id, **kwargs)
        self.broadcast_id = broadcast_id
        self.queue_ids = queue_ids
        self.purge_all = purge_all
        self.periskope_conn_id = periskope_conn_id

    def validate(self) -> None:
        purge_request(self.broadcast_id, self.queue_ids, self.purge_all)

    def cancel(self, context: Any) -> CancelResult:
        return self.hook.purge_queue(broadcast_id=self.broadcast_id or None, queue_ids=self.queue_ids or None,
                                     purge_all=self.purge_all)
