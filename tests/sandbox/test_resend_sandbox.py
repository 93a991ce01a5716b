"""The Resend part of the sandbox, over real HTTP; then the hook against each of its readings."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from airflow_provider_cancel.sandbox import SandboxServer

KEY = "re_sandbox_key"
SENDING_KEY = "re_sandbox_sending_key"


@pytest.fixture()
def sb(server: SandboxServer) -> SandboxServer:
    server.admin("POST", "/reset")
    server.admin("POST", "/config", {"resend": {"rate_limit_per_second": 0}})
    return server


@pytest.fixture()
def api(bearer_session: Any) -> Any:
    return bearer_session(KEY)


def seed(sb: SandboxServer, **body: Any) -> dict[str, Any]:
    return sb.admin("POST", "/resend/seed", body)


def status(sb: SandboxServer, kind: str, object_id: str) -> str:
    rows = sb.admin("GET", "/resend/state")[kind]
    return next(r["status" if kind == "broadcasts" else "last_event"] for r in rows if r["id"] == object_id)


def test_keys_missing_wrong_and_sending_only(sb: SandboxServer) -> None:
    seed(sb, broadcasts=[{"id": "b1"}])
    url = f"{sb.vendor_url('resend')}/broadcasts/b1"
    answers = {
        "none": requests.get(url),
        "wrong": requests.get(url, headers={"Authorization": "Bearer re_wrong"}),
        "sending": requests.get(url, headers={"Authorization": f"Bearer {SENDING_KEY}"}),
    }
    assert {k: (r.status_code, r.json()["name"]) for k, r in answers.items()} == {
        "none": (401, "missing_api_key"),
        "wrong": (401, "invalid_api_key"),
        "sending": (401, "restricted_api_key"),
    }
    assert set(answers["none"].json()) == {"statusCode", "name", "message"}
    sent = requests.post(
        f"{sb.vendor_url('resend')}/emails",
        json={"from": "a@example.com", "to": "b@example.com", "subject": "hi"},
        headers={"Authorization": f"Bearer {SENDING_KEY}"},
    )
    assert sent.status_code == 200 and sent.json()["id"]
    dumped = json.dumps(sb.admin("GET", "/requests?vendor=resend"))
    assert KEY not in dumped and SENDING_KEY not in dumped


def test_cancel_broadcast_scheduled_to_draft_queued_to_canceled(sb: SandboxServer, api: Any) -> None:
    seed(sb, broadcasts=[{"id": "b1"}, {"id": "b2", "status": "queued"}])
    for bid in ("b1", "b2"):
        r = api.post(f"{sb.vendor_url('resend')}/broadcasts/{bid}/cancel")
        assert r.status_code == 200 and r.json() == {"id": bid, "object": "broadcast"}
    assert (status(sb, "broadcasts", "b1"), status(sb, "broadcasts", "b2")) == ("draft", "canceled")
    assert api.get(f"{sb.vendor_url('resend')}/broadcasts/b1").json()["scheduled_at"] is None


@pytest.mark.parametrize("refusal_status", [403, 422])
@pytest.mark.parametrize("previous", ["draft", "sent", "failed"])
def test_cancel_refuses_draft_sent_failed(sb: SandboxServer, api: Any, refusal_status: int, previous: str) -> None:
    sb.admin("POST", "/config", {"resend": {"refusal_status": refusal_status}})
    seed(sb, broadcasts=[{"id": "b1", "status": previous}])
    r = api.post(f"{sb.vendor_url('resend')}/broadcasts/b1/cancel")
    assert r.status_code == refusal_status and r.json()["name"] == "validation_error"
    assert status(sb, "broadcasts", "b1") == previous


@pytest.mark.parametrize(("recancel", "code"), [("200", 200), ("refuse", 403)])
def test_recancel_is_configurable(sb: SandboxServer, api: Any, recancel: str, code: int) -> None:
    sb.admin("POST", "/config", {"resend": {"recancel": recancel}})
    seed(sb, broadcasts=[{"id": "b1", "status": "canceled"}], emails=[{"id": "e1", "last_event": "canceled"}])
    assert api.post(f"{sb.vendor_url('resend')}/broadcasts/b1/cancel").status_code == code
    assert api.post(f"{sb.vendor_url('resend')}/emails/e1/cancel").status_code == code


@pytest.mark.parametrize(
    ("shape", "keys"), [("docs", {"object", "id"}), ("openapi", {"object", "id", "last_event", "to"})]
)
def test_cancel_email_bodies(sb: SandboxServer, api: Any, shape: str, keys: set[str]) -> None:
    sb.admin("POST", "/config", {"resend": {"email_cancel_body": shape}})
    seed(sb, emails=[{"id": "e1"}, {"id": "e2", "last_event": "delivered"}])
    r = api.post(f"{sb.vendor_url('resend')}/emails/e1/cancel")
    assert r.status_code == 200 and keys <= set(r.json())
    assert status(sb, "emails", "e1") == "canceled"
    assert api.post(f"{sb.vendor_url('resend')}/emails/e2/cancel").status_code == 403


def test_states_move_over_time(sb: SandboxServer, api: Any) -> None:
    seed(
        sb,
        broadcasts=[{"id": "b1", "scheduled_in_s": 10, "send_duration_s": 5}],
        emails=[{"id": "e1", "scheduled_in_s": 10}],
    )
    sb.admin("POST", "/time", {"advance_s": 10.5})
    assert (status(sb, "broadcasts", "b1"), status(sb, "emails", "e1")) == ("queued", "sent")
    sb.admin("POST", "/time", {"advance_s": 5})
    assert (status(sb, "broadcasts", "b1"), status(sb, "emails", "e1")) == ("sent", "delivered")


def test_rate_limit_headers_and_429(sb: SandboxServer, api: Any) -> None:
    sb.admin("POST", "/config", {"resend": {"rate_limit_per_second": 2}})
    answers = [api.get(f"{sb.vendor_url('resend')}/broadcasts") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[0].headers["ratelimit-limit"] == "2" and int(answers[2].headers["retry-after"]) >= 1
    assert answers[2].json()["name"] == "rate_limit_exceeded"


def test_send_email_idempotency_key(sb: SandboxServer, api: Any) -> None:
    url = f"{sb.vendor_url('resend')}/emails"
    body = {"from": "a@example.com", "to": "b@example.com", "subject": "hi", "scheduled_at": "2030-01-01T00:00:00Z"}
    first = api.post(url, json=body, headers={"Idempotency-Key": "k1"})
    again = api.post(url, json=body, headers={"Idempotency-Key": "k1"})
    assert first.json() == again.json()
    assert api.post(url, json={**body, "subject": "other"}, headers={"Idempotency-Key": "k1"}).status_code == 409
    assert len(sb.admin("GET", "/resend/state")["emails"]) == 1


# ----------------------------------------------------------------------------- the hook against each reading
@pytest.fixture()
def hook(sb: SandboxServer, set_conn: Any) -> Any:
    from airflow_provider_cancel.hooks.resend import ResendHook

    set_conn("resend_default", "resend", sb.vendor_url("resend"), KEY)
    return ResendHook(retry_limit=2)


@pytest.mark.parametrize(("refusal_status", "recancel"), [(403, "refuse"), (422, "refuse"), (403, "200")])
def test_hook_under_each_reading(sb: SandboxServer, hook: Any, refusal_status: int, recancel: str) -> None:
    from airflow_provider_cancel.exceptions import CampaignFinishedError

    sb.admin("POST", "/config", {"resend": {"refusal_status": refusal_status, "recancel": recancel}})
    seed(
        sb,
        broadcasts=[{"id": "sched"}, {"id": "sending", "status": "queued"}, {"id": "done", "status": "sent"}],
        emails=[{"id": "e1"}],
    )
    assert hook.cancel_broadcast("sched").outcome.value == "cancelled"
    assert hook.get_status(broadcast_id="sched", draft_means_cancelled=True).is_cancelled
    assert hook.cancel_broadcast("sending").outcome.value == "cancelled"
    again = hook.cancel_broadcast("sending").outcome.value
    assert again == ("already_cancelled" if recancel == "refuse" else "cancelled")
    # A draft (ours, from the first cancel) is refused and read back: nothing is scheduled to go out.
    assert hook.cancel_broadcast("sched").outcome.value == "nothing_to_cancel"
    with pytest.raises(CampaignFinishedError):
        hook.cancel_broadcast("done")
    assert hook.cancel_email("e1").outcome.value == "cancelled"
    assert hook.get_status(email_id="e1").is_cancelled
