"""The fault matrix's one table: each fault the sandbox injects, and what the provider must do about it.

``tests/e2e/test_fault_matrix.py`` runs every case against every registered vendor, twice: the
sync cancel (the vendor hook's cancel method on the worker) and the async status poll
(``CampaignStatusTrigger.run()``, what a deferred task waits on). ``scripts/failure_table.py``
renders the same table into ``docs/failure-behaviour.md``, so the page says what the tests check.

Plain data on purpose: no Airflow, no HTTP, no sandbox (the docs script imports it).

Request counts and times hold for the matrix settings below; with other settings they scale as the
words say (``retry_limit`` attempts per call; polls x attempts per poll for the trigger).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# ----------------------------------------------------------------------------- matrix settings
#: Attempts per cancel call (``retry_limit`` of the hook, the first included).
CANCEL_RETRY_LIMIT = 3
#: The hook's ``retry_max_wait`` for the cancel: small, so backoff between attempts costs 50 ms.
CANCEL_RETRY_MAX_WAIT = 0.05
#: The trigger's ``retry_limit`` (attempts per poll; its default) and ``max_consecutive_failures``.
POLL_RETRY_LIMIT = 2
POLL_MAX_FAILURES = 2
POLL_INTERVAL = 0.05
#: The connection's ``timeout`` extra in the read-timeout case, and the latency the sandbox adds.
READ_TIMEOUT = 0.2
LATENCY_MS = 500
#: A fault value the test replaces with an HTTP date this many seconds ahead (whole seconds, so
#: the wait it asks for is between 1 and 2 s).
RETRY_AFTER_DATE = "<HTTP date 2 s ahead>"
RETRY_AFTER_DATE_AHEAD_S = 2
#: A fault count larger than any run of attempts: the vendor never recovers.
ALWAYS = 20

SUCCESS = "success"
VENDOR_API_ERROR = "VendorAPIError"


@dataclass(frozen=True)
class Expect:
    """
    What one path does under a fault.

    :param words: The behaviour in words (the docs table shows them).
    :param outcome: ``"success"`` or the domain error's class name (``exceptions.py``).
    :param requests: Requests the sandbox sees for the vendor, every retry and read-back included.
    :param result: For a successful cancel, its ``CancelOutcome`` value.
    :param status_code: For an error, its ``status_code`` (``None``: no usable answer).
    :param transient: For an error, its ``is_transient`` (the trigger event's ``retryable``).
    :param cancels: Cancels that took effect at the vendor (sync only): never more than one.
    :param min_seconds: The call must take at least this long (a ``Retry-After`` was honoured).
    :param max_seconds: ... and at most this long (bounded, no matter how the vendor fails).
    :param message: Text the error message must contain.
    """

    words: str
    outcome: str = SUCCESS
    requests: int = 1
    result: str | None = "cancelled"
    status_code: int | None = None
    transient: bool | None = None
    cancels: int = 1
    min_seconds: float = 0.0
    max_seconds: float = 2.0
    message: str | None = None


@dataclass(frozen=True)
class FaultCase:
    """
    One fault, injected through ``POST /_admin/<vendor>/faults``.

    :param id: Test id.
    :param title: The case as the docs table names it.
    :param faults: Fault specs, posted in order before the call.
    :param sync: What the vendor hook's cancel does.
    :param poll: What the status poll of a deferred task does.
    :param sync_by_vendor: Where a vendor's hook reads the answer its own way (by registry name).
    :param poll_by_vendor: The same for the status poll (e.g. a status read that takes two GETs).
    :param cancel_hook: Hook arguments for the cancel, over the matrix defaults.
    :param timeout: The connection's ``timeout`` extra (read timeout), when the case needs one.
    """

    id: str
    title: str
    faults: tuple[Mapping[str, Any], ...]
    sync: Expect
    poll: Expect
    sync_by_vendor: Mapping[str, Expect] = field(default_factory=dict)
    poll_by_vendor: Mapping[str, Expect] = field(default_factory=dict)
    cancel_hook: Mapping[str, Any] = field(default_factory=dict)
    timeout: float | None = None

    @property
    def latency_s(self) -> float:
        return max((float(f.get("latency_ms", 0)) for f in self.faults), default=0.0) / 1000


def _retried_once(status: int, title: str, why: str) -> FaultCase:
    return FaultCase(
        id=str(status),
        title=title,
        faults=({"fail_next": 1, "status": status},),
        sync=Expect(
            f"Repeated after a short backoff. {why} Every cancel here is safe to repeat (an "
            "idempotency key, a DELETE, a cancel by id); a POST that is not is never repeated after a 5xx.",
            requests=2,
        ),
        poll=Expect("The GET is retried inside the poll; the next answer is read as usual.", requests=2),
    )


REPEAT_AFTER_LOST_ANSWER = {
    "arsel": Expect(
        "The repeat carries the same Idempotency-Key: Arsel replays the first answer.", requests=2, result="cancelled"
    ),
    "periskope": Expect(
        "The repeated DELETE gets 409 (already stopped); the status read-back shows it stopped, so the result is "
        "`already_stopped` (the first DELETE stopped it).",
        requests=3,
        result="already_stopped",
    ),
    "suprsend": Expect(
        "The repeat matches no running run; since the first attempt reached SuprSend and its answer was lost, "
        "the result is `already_cancelled` (`answer_lost` in its detail) and the wait watches the run asked for.",
        requests=2,
        result="already_cancelled",
    ),
}

CASES: tuple[FaultCase, ...] = (
    FaultCase(
        id="429-retry-after-seconds",
        title="429 with `Retry-After: 1` (seconds)",
        faults=({"fail_next": 1, "status": 429, "retry_after": "1"},),
        cancel_hook={"retry_max_wait": 5},
        sync=Expect(
            "Waits the Retry-After (capped at `retry_max_wait`) and repeats. A 429 is repeated for any request, "
            "POSTs included: the vendor refused it before acting.",
            requests=2,
            min_seconds=1.0,
            max_seconds=3.0,
        ),
        poll=Expect(
            "The poll waits the Retry-After (capped at 60 s) and reads again.",
            requests=2,
            min_seconds=1.0,
            max_seconds=3.0,
        ),
    ),
    FaultCase(
        id="429-retry-after-date",
        title="429 with `Retry-After` as an HTTP date (2 s ahead)",
        faults=({"fail_next": 1, "status": 429, "retry_after": RETRY_AFTER_DATE},),
        cancel_hook={"retry_max_wait": 5},
        sync=Expect(
            "Waits until that date (capped at `retry_max_wait`) and repeats.",
            requests=2,
            min_seconds=1.0,
            max_seconds=3.5,
        ),
        poll=Expect(
            "As with seconds: waits until the date, reads again.", requests=2, min_seconds=1.0, max_seconds=3.5
        ),
    ),
    FaultCase(
        id="429-no-retry-after",
        title="429 without `Retry-After`",
        faults=({"fail_next": 1, "status": 429},),
        sync=Expect("Backs off exponentially (0.5 s, 1 s, ..., capped at `retry_max_wait`) and repeats.", requests=2),
        poll=Expect("Exponential backoff inside the poll, then reads again.", requests=2),
    ),
    _retried_once(500, "500 Internal Server Error", "A 5xx may come after the vendor acted."),
    _retried_once(502, "502 Bad Gateway", "The gateway may have passed the request on."),
    _retried_once(503, "503 Service Unavailable", "Usually nothing happened, but nothing proves it."),
    _retried_once(504, "504 Gateway Timeout", "The vendor may still be working on the first request."),
    FaultCase(
        id="reset-after-headers",
        title="Connection reset after the headers (the vendor acted)",
        faults=({"reset_next": 1, "reset_at": "headers"},),
        sync=Expect(
            "No usable answer, and the vendor may have acted: a cancel that is safe to repeat is repeated and "
            "takes effect once; a POST without an idempotency key is not repeated (fails, transient).",
            requests=2,
        ),
        sync_by_vendor=REPEAT_AFTER_LOST_ANSWER,
        poll=Expect("The GET is retried inside the poll.", requests=2),
    ),
    FaultCase(
        id="reset-mid-body",
        title="Connection reset halfway through the body (the vendor acted)",
        faults=({"reset_next": 1, "reset_at": "body"},),
        sync=Expect("As after the headers: repeated only when safe, takes effect once.", requests=2),
        sync_by_vendor=REPEAT_AFTER_LOST_ANSWER,
        poll=Expect("The GET is retried inside the poll.", requests=2),
    ),
    FaultCase(
        id="read-timeout",
        title=f"Read timeout (the vendor answers after {LATENCY_MS / 1000:g} s; `timeout` extra {READ_TIMEOUT:g} s)",
        faults=({"latency_ms": LATENCY_MS},),
        timeout=READ_TIMEOUT,
        sync=Expect(
            "Each attempt gives up after the `timeout`; the cancel is safe to repeat, so it is repeated up to "
            "`retry_limit` times. The first attempt cancelled; the repeats were replayed or changed nothing.",
            outcome=VENDOR_API_ERROR,
            requests=CANCEL_RETRY_LIMIT,
            status_code=None,
            transient=True,
            max_seconds=2.5,
        ),
        poll=Expect(
            "Every poll times out; after `max_consecutive_failures` polls in a row the trigger gives up, the "
            "task fails and Airflow's retries take over.",
            outcome=VENDOR_API_ERROR,
            requests=POLL_MAX_FAILURES * POLL_RETRY_LIMIT,
            status_code=None,
            transient=True,
            max_seconds=4.0,
        ),
    ),
    FaultCase(
        id="html-502-page",
        title="502 with an HTML error page (`text/html`, from a proxy), every time",
        faults=({"fail_next": ALWAYS, "status": 502, "content_type": "text/html"},),
        sync=Expect(
            "Repeated like any 5xx; the message names the page by its title ('502 Bad Gateway') instead of "
            "dumping its markup.",
            outcome=VENDOR_API_ERROR,
            requests=CANCEL_RETRY_LIMIT,
            status_code=502,
            transient=True,
            cancels=0,
            message="502 Bad Gateway",
        ),
        poll=Expect(
            "Polled again like any 5xx, then gives up; the message names the page by its title.",
            outcome=VENDOR_API_ERROR,
            requests=POLL_MAX_FAILURES * POLL_RETRY_LIMIT,
            status_code=502,
            transient=True,
            max_seconds=3.0,
            message="502 Bad Gateway",
        ),
    ),
    FaultCase(
        id="html-200-page",
        title="200 with an HTML page instead of JSON (a web site, or a wrong Base URL)",
        faults=({"fail_next": 1, "status": 200, "content_type": "text/html"},),
        sync=Expect(
            "HTTP 200 but 'expected JSON', named by the page's title; the hook does not repeat it.",
            outcome=VENDOR_API_ERROR,
            requests=1,
            status_code=200,
            transient=False,
            cancels=0,
            message="expected JSON",
        ),
        poll=Expect(
            "Stops waiting at once.",
            outcome=VENDOR_API_ERROR,
            requests=1,
            status_code=200,
            transient=False,
            message="expected JSON",
        ),
    ),
    FaultCase(
        id="empty-200",
        title="200 with an empty body",
        faults=({"fail_next": 1, "status": 200, "empty_body": True},),
        sync=Expect(
            "Treated as a lost answer, never as 'done' or 'nothing matched': a cancel that is safe to repeat is "
            "repeated and read from the real answer; a POST without an idempotency key is not repeated.",
            requests=2,
        ),
        poll=Expect("Treated as a lost answer: the GET is retried inside the poll.", requests=2),
    ),
    *(
        FaultCase(
            id=str(status),
            title=title,
            faults=({"fail_next": 1, "status": status},),
            sync=Expect(
                "Repeating cannot change the answer: the task fails at once, without retries.",
                outcome=VENDOR_API_ERROR,
                requests=1,
                status_code=status,
                transient=False,
                cancels=0,
            ),
            sync_by_vendor=by_vendor,
            poll=Expect(
                "Stops waiting at once.",
                outcome=VENDOR_API_ERROR,
                requests=1,
                status_code=status,
                transient=False,
            ),
        )
        for status, title, by_vendor in (
            (401, "401 Unauthorized", {}),
            (403, "403 Forbidden", {}),
            (
                404,
                "404 Not Found",
                {
                    "periskope": Expect(
                        "404 (not found, or not this organisation's broadcast), unless an earlier attempt of the "
                        "same DELETE got no answer: then it is that delete (`cancelled`, inferred).",
                        outcome=VENDOR_API_ERROR,
                        status_code=404,
                        transient=False,
                        cancels=0,
                    )
                },
            ),
            (
                409,
                "409 Conflict",
                {
                    "customerio": Expect(
                        "409 is Customer.io's 'resolving its audience, sending or sent': the trigger is read once; it "
                        "shows neither a cancel nor a send, so it fails with HTTP 409 naming the trigger's state.",
                        outcome=VENDOR_API_ERROR,
                        requests=2,
                        status_code=409,
                        transient=False,
                        cancels=0,
                    ),
                    "periskope": Expect(
                        "409 is Periskope's 'already in a terminal state': read back the status, and report "
                        "`already_stopped` (a read-back still showing it in progress is logged as a warning).",
                        requests=2,
                        result="already_stopped",
                        cancels=0,
                    ),
                    "loop_comms": Expect(
                        "A refusal is judged from evidence: the send history is read; it does not show the campaign "
                        "cancelled, so it fails with HTTP 409 naming what history showed.",
                        outcome=VENDOR_API_ERROR,
                        requests=2,
                        status_code=409,
                        transient=False,
                        cancels=0,
                    ),
                },
            ),
        )
    ),
    FaultCase(
        id="recovers-after-2",
        title="503 twice, then the vendor recovers",
        faults=({"fail_next": 2, "status": 503},),
        sync=Expect("Repeated with backoff; the third attempt cancels.", requests=3),
        poll=Expect(
            "The first poll fails after its attempts; the trigger polls again after `poll_interval` and succeeds.",
            requests=3,
        ),
    ),
    FaultCase(
        id="never-recovers",
        title="503 every time (the vendor never recovers)",
        faults=({"fail_next": ALWAYS, "status": 503},),
        sync=Expect(
            "Gives up after `retry_limit` attempts (each wait at most `retry_max_wait`, so the time is "
            "bounded); the task's own retries take over.",
            outcome=VENDOR_API_ERROR,
            requests=CANCEL_RETRY_LIMIT,
            status_code=503,
            transient=True,
            cancels=0,
        ),
        poll=Expect(
            "Gives up after `max_consecutive_failures` polls in a row of `retry_limit` attempts each.",
            outcome=VENDOR_API_ERROR,
            requests=POLL_MAX_FAILURES * POLL_RETRY_LIMIT,
            status_code=503,
            transient=True,
            max_seconds=3.0,
        ),
    ),
)


def sync_expectation(case: FaultCase, vendor: str) -> Expect:
    """What ``vendor``'s cancel does in ``case``: its own reading where it has one, else the common one."""
    return case.sync_by_vendor.get(vendor, case.sync)


def poll_expectation(case: FaultCase, vendor: str) -> Expect:
    """What ``vendor``'s status poll does in ``case``."""
    return case.poll_by_vendor.get(vendor, case.poll)


# ----------------------------------------------------------------------------- Klaviyo, Mailchimp, SendGrid
# Their own readings, merged into the cases above (kept here, in one place, so each reads as a whole).
_LOST_204 = "The cancel answers 204, which has no body to lose: the whole answer arrived before the reset."
_READ_BACK_AFTER_LOST_ANSWER = Expect(
    "The repeated POST is refused (the hold exists) and the hold is read back; an earlier attempt got no answer, "
    "so the hold is counted as this cancel's own (`cancelled`, inferred).",
    requests=3,
)
_VENDOR_SYNC: dict[str, dict[str, Expect]] = {
    "reset-after-headers": {
        "klaviyo": Expect(_LOST_204, requests=1),
        "mailchimp": Expect(_LOST_204, requests=1),
        "sendgrid": _READ_BACK_AFTER_LOST_ANSWER,
    },
    "reset-mid-body": {
        "klaviyo": Expect(_LOST_204, requests=1),
        "mailchimp": Expect(_LOST_204, requests=1),
        "sendgrid": _READ_BACK_AFTER_LOST_ANSWER,
    },
    "404": {
        "sendgrid": Expect(
            "The batch's hold is read back (404 may be 'no such batch'); it holds nothing, so it fails with the 404 "
            "and a hint (was the batch id set at send time?).",
            outcome=VENDOR_API_ERROR,
            requests=2,
            status_code=404,
            transient=False,
            cancels=0,
        ),
    },
    "409": {
        "klaviyo": Expect(
            "A refusal is read back (send job, then campaign); the campaign is still sending, so it fails with "
            "HTTP 409 naming the campaign's status.",
            outcome=VENDOR_API_ERROR,
            requests=3,
            status_code=409,
            transient=False,
            cancels=0,
        ),
        "sendgrid": Expect(
            "A refusal is read back; the batch holds nothing, so it fails with HTTP 409 and a hint.",
            outcome=VENDOR_API_ERROR,
            requests=2,
            status_code=409,
            transient=False,
            cancels=0,
        ),
    },
}
# Klaviyo's status read is two GETs (the send job, then the campaign): one more request whenever a poll
# gets past the send job; a 404 on the send job means "no send job", and the campaign decides.
_KLAVIYO_POLL_PLUS_ONE = (
    "429-retry-after-seconds",
    "429-retry-after-date",
    "429-no-retry-after",
    "500",
    "502",
    "503",
    "504",
    "reset-after-headers",
    "reset-mid-body",
    "empty-200",
    "recovers-after-2",
)
_KLAVIYO_POLL_404 = Expect(
    "A 404 on the send job means it has none: the campaign is read and decides (here: cancelled).", requests=2
)

_SENDGRID_POLL_404 = Expect(
    "A 404 on the hold read means the batch holds nothing (SendGrid may answer 404 or []); without a send time "
    "that is unknown, so the poll goes on, and the next read shows the cancel.",
    requests=2,
)


def _with_vendor_readings(case: FaultCase) -> FaultCase:
    poll = dict(case.poll_by_vendor)
    if case.id in _KLAVIYO_POLL_PLUS_ONE:
        poll["klaviyo"] = Expect(
            f"{case.poll.words} Then the campaign is read (a second GET).",
            requests=case.poll.requests + 1,
            min_seconds=case.poll.min_seconds,
            max_seconds=case.poll.max_seconds,
        )
    if case.id == "404":
        poll["klaviyo"] = _KLAVIYO_POLL_404
        poll["sendgrid"] = _SENDGRID_POLL_404
    sync = {**case.sync_by_vendor, **_VENDOR_SYNC.get(case.id, {})}
    return FaultCase(**{**case.__dict__, "sync_by_vendor": sync, "poll_by_vendor": poll})


CASES = tuple(_with_vendor_readings(case) for case in CASES)
