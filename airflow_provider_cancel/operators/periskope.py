"""Stop or delete a Periskope WhatsApp broadcast, or purge queued Periskope jobs."""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_cancel.exceptions import InvalidTarget, VendorAPIError
from airflow_provider_cancel.hooks.periskope import PRIOR_DELETED, PRIOR_UNANSWERED, PeriskopeHook
from airflow_provider_cancel.operators.base import BaseCancelOperator
from airflow_provider_cancel.status import CancelResult
from airflow_provider_cancel.targets import Target
from airflow_provider_cancel.vendors.periskope import PeriskopeBroadcast, purge_request

#: Key, in Airflow's task state store, of what this task's DELETE did (kept across tries).
DELETE_RECORD_KEY = "periskope_delete"


class PurgeAllRetryRefused(AirflowFailException):
    """An automatic retry of a purge-all was stopped before it sent anything."""


class PeriskopeCancelBroadcastOperator(BaseCancelOperator[PeriskopeHook, PeriskopeBroadcast]):
    """
    Cancel a Periskope broadcast: delete it if it has not started, stop it if it is sending.

    Sends ``DELETE /message/broadcast/{broadcast_id}``. Outcomes (``vendor_status`` in brackets):
    ``cancelled`` (``deleted``: it had not started, no credits are charged; ``stopped``: it was
    sending, unsent messages are cancelled and refunded); ``already_stopped`` when Periskope answers
    409 because the broadcast was already in a terminal state (``vendor_status`` is then the status
    read back: ``stopped``, or ``None`` when the read fails). A 409 on a broadcast that had already
    ``completed`` or ``expired`` fails the task without retries (:class:`CampaignFinishedError`):
    it ended before the cancel and nothing was stopped. A 404 ("not found or not in your
    organisation") and a 401 fail the task without retries.

    Retrying the task is safe: the DELETE names one broadcast, and a repeat after a stop answers
    409 (``already_stopped``). A repeat after a *delete* answers 404, so each try records in
    Airflow's task state store (Airflow 3.3+) that its DELETE was answered ``deleted``, or went out
    and got no answer (read timeout, dropped connection); a later try of the same task instance
    then reports that 404 as ``deleted`` (logged; ``detail.inferred`` when no answer was seen).
    XCom cannot carry this: Airflow clears a task's XComs when a new try starts. On Airflow < 3.3
    the 404 fails as "not found", with a hint that an earlier try may have deleted it.

    With ``wait_for_completion=True`` it then polls ``GET /queue/broadcast`` until the broadcast is
    ``stopped``; after a ``deleted`` answer, the 404 of the vanished record counts as cancelled.
    A broadcast that ends another way while we wait (``completed``, ``expired``) fails clearly.

    :param broadcast_id: The Periskope ``broadcast_id`` (templated).
    :param periskope_conn_id: Airflow connection id (templated; default ``periskope_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`
        (``wait_for_completion``, ``deferrable``, ``poll_interval``, ``wait_timeout``...).
    """

    hook_class = PeriskopeHook
    target_model = PeriskopeBroadcast
    template_fields = ("broadcast_id", "periskope_conn_id", "dry_run_flag")

    def __init__(
        self, *, broadcast_id: str, periskope_conn_id: str = PeriskopeHook.default_conn_name, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.broadcast_id = broadcast_id
        self.periskope_conn_id = periskope_conn_id

    def cancel(self, context: Any) -> CancelResult:
        broadcast_id = self.target().broadcast_id
        earlier = self._recall_delete(context, broadcast_id)
        try:
            result = self.hook.cancel_broadcast(broadcast_id, prior_delete=earlier)
            if earlier == PRIOR_DELETED and "earlier_try" in result.detail:
                self.log.warning(
                    "Periskope broadcast %s: an earlier try of this task deleted it (Periskope answered 'deleted'); "
                    "a deleted broadcast leaves no record, so this try's 404 is that delete, reported as deleted.",
                    broadcast_id,
                )
        except VendorAPIError as exc:
            if earlier is None and any(a.may_have_acted for a in exc.attempts):
                self._record_delete(context, broadcast_id, PRIOR_UNANSWERED)
            if exc.status_code == 404 and not self.has_try_memory(context) and self.is_automatic_retry(context):
                raise VendorAPIError(
                    exc.vendor,
                    404,
                    f"{exc.message}. This is a retry: if an earlier try deleted the broadcast, this 404 is that "
                    "delete (this Airflow has no task state store to remember it); check the earlier try's log",
                    code=exc.code,
                    method=exc.method,
                    path=exc.path,
                ) from None
            raise
        if result.vendor_status == "deleted" and earlier != PRIOR_DELETED:
            # An inferred delete (no answer was seen) is remembered as such, not as Periskope's `deleted`.
            seen = PRIOR_UNANSWERED if "inferred" in result.detail else PRIOR_DELETED
            if seen != earlier:
                self._record_delete(context, broadcast_id, seen)
        return result

    def _recall_delete(self, context: Any, broadcast_id: str) -> str | None:
        """What an earlier try of this task instance recorded about its DELETE of ``broadcast_id``."""
        record = self.recall_across_tries(context, DELETE_RECORD_KEY)
        if not isinstance(record, dict) or record.get("broadcast_id") != broadcast_id:
            return None
        outcome = record.get("delete")
        if outcome in (PRIOR_DELETED, PRIOR_UNANSWERED):
            self.log.info(
                "Try %s of this task recorded its DELETE of broadcast %s as %r",
                record.get("try_number"),
                broadcast_id,
                outcome,
            )
            return outcome
        return None

    def _record_delete(self, context: Any, broadcast_id: str, outcome: str) -> None:
        try_number = getattr(context.get("ti"), "try_number", None)
        self.remember_across_tries(
            context, DELETE_RECORD_KEY, {"broadcast_id": broadcast_id, "delete": outcome, "try_number": try_number}
        )


class PeriskopePurgeQueueOperator(BaseCancelOperator[PeriskopeHook, Target]):
    """
    Remove queued (not yet sent) Periskope jobs: ``POST /message/queues/purge``.

    Give exactly one of ``broadcast_id`` (that broadcast's queued jobs) or ``queue_ids``. Periskope
    purges *every* queued job of the organisation when the body is empty, so that is sent only
    with the explicit opt-in ``purge_all=True`` (a literal ``True``, never templated). Anything else
    fails before a request is sent. Outcomes: ``cancelled`` (``detail.purged`` jobs removed) or
    ``nothing_to_cancel`` (nothing was queued). There is nothing to wait for afterwards.

    A purge-all is never sent twice by itself. The hook does not repeat it, a purge-all that gets no
    answer (5xx, timeout, dropped connection) fails the task without retries and tells on-call to
    check the queue, and an automatic task retry refuses to send it again (an earlier try may have
    purged, and a repeat would also purge jobs queued since) unless ``resend_purge_all_on_retry=True``.
    Clearing the task, or a new run, counts as a fresh start and sends it.

    :param broadcast_id: Purge this broadcast's queued jobs (templated).
    :param queue_ids: Purge these queue jobs (templated): a list, or a string as a template renders
        one: ``['q1', 'q2']`` (``{{ params.queue_ids }}``), a JSON list, or ``q1,q2``.
    :param purge_all: Purge every queued job of the organisation. Default ``False``.
    :param resend_purge_all_on_retry: Let an automatic task retry send a purge-all again (a literal
        ``True``, never templated). Default ``False``: the retry fails without sending.
    :param periskope_conn_id: Airflow connection id (templated; default ``periskope_default``).
    :param kwargs: See :class:`~airflow_provider_cancel.operators.base.BaseCancelOperator`.
    """

    hook_class = PeriskopeHook
    template_fields = ("broadcast_id", "queue_ids", "periskope_conn_id", "dry_run_flag")

    def __init__(
        self,
        *,
        broadcast_id: str | None = None,
        queue_ids: list[str] | str | None = None,
        purge_all: bool = False,
        resend_purge_all_on_retry: bool = False,
        periskope_conn_id: str = PeriskopeHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.broadcast_id = broadcast_id
        self.queue_ids = queue_ids
        self.purge_all = purge_all
        self.resend_purge_all_on_retry = resend_purge_all_on_retry
        self.periskope_conn_id = periskope_conn_id

    def validate(self) -> None:
        purge_request(self.broadcast_id, self.queue_ids, self.purge_all)
        if not isinstance(self.resend_purge_all_on_retry, bool):
            raise InvalidTarget(
                f"resend_purge_all_on_retry must be True or False (got {self.resend_purge_all_on_retry!r}); "
                "nothing was purged."
            )

    def dry_run_plan(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        body, mode = purge_request(self.broadcast_id or None, self.queue_ids or None, self.purge_all)
        return {"mode": mode, **body}, None  # the queue has no per-job status to read

    def cancel(self, context: Any) -> CancelResult:
        if self.purge_all is True and not self.resend_purge_all_on_retry and self.is_automatic_retry(context):
            raise PurgeAllRetryRefused(
                f"Not re-sending the Periskope purge-all on automatic retry (try {context['ti'].try_number}): an "
                "earlier try may already have purged the queue, and sending it again would also purge every job "
                "queued since. Nothing was sent. Check the Periskope queue and the earlier try's log; to purge "
                "again on purpose clear this task or trigger a new run (both count as a fresh start), or set "
                "resend_purge_all_on_retry=True."
            )
        return self.hook.purge_queue(
            broadcast_id=self.broadcast_id or None, queue_ids=self.queue_ids or None, purge_all=self.purge_all
        )
