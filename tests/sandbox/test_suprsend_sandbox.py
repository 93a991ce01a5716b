"""The SuprSend part of the sandbox, over real HTTP with ``requests`` (no provider code involved)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from airflow_provider_cancel.sandbox import SandboxServer

KEY = "ss_sandbox_key"
AUTH = {"Authorization": f"Bearer {KEY}"}
WF_400 = {"code": 400, "message": "at least one filter is required: execution_id, recipients, idempotency_key"}
BC_400 = {"code": 400, "message": "at least one filter is required: execution_id, list_id, idempotency_key"}


@pytest.fixture()
def sb(server: SandboxServer) -> SandboxServer:
    server.admin("POST", "/reset")
    return server


@pytest.fixture()
def api(sb: SandboxServer) -> Any:
    base = sb.vendor_url("suprsend")

    class Api:
        def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
            return requests.post(base + path, json=body, headers=kw.pop("headers", AUTH), **kw)

        def get(self, path: str, **params: Any) -> requests.Response:
            return requests.get(base + path, params=params, headers=AUTH)

    return Api()


def seed(sb: SandboxServer, workflow: list | None = None, broadcast: list | None = None) -> dict[str, list]:
    return sb.admin("POST", "/suprsend/seed", {"workflow_runs": workflow or [], "broadcast_runs": broadcast or []})


def state(sb: SandboxServer) -> dict[str, Any]:
    return sb.admin("GET", "/suprsend/state")


def statuses(sb: SandboxServer) -> dict[str, str]:
    s = state(sb)
    return {r["execution_id"]: r["status"] for r in s["workflow_runs"] + s["broadcast_runs"]}


def advance_time(sb: SandboxServer, seconds: float) -> None:
    sb.admin("POST", "/time", {"advance_s": seconds})


# --------------------------------------------------------------------------- auth and errors
def test_bearer_auth_401_in_the_documented_error_shape_and_key_never_logged(sb: SandboxServer, api: Any) -> None:
    (run,) = seed(sb, [{"execution_id": "dsl_a"}])["workflow_runs"]
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": KEY}):
        r = api.post("/v1/workflow_run/cancel/", {"execution_id": "dsl_a"}, headers=headers)
        assert r.status_code == 401 and set(r.json()) == {"code", "message"} and r.json()["code"] == 401
    assert statuses(sb)["dsl_a"] == "in_progress"  # nothing was cancelled by the refused calls
    assert api.get("/v1/message/").status_code == 200
    log = sb.admin("GET", "/requests?vendor=suprsend")["requests"]
    assert [e["auth_valid"] for e in log] == [False, False, False, True]
    assert KEY not in json.dumps(log) and "nope" not in json.dumps(log)


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/v1/workflow_run/cancel/", {}, WF_400),
        ("/v1/workflow_run/cancel/", None, WF_400),
        ("/v1/workflow_run/cancel/", {"tenant_id": "acme"}, WF_400),  # tenant_id only narrows
        ("/v1/workflow_run/cancel/", {"execution_id": "", "recipients": []}, WF_400),
        ("/v1/broadcast_run/cancel/", {}, BC_400),
        ("/v1/broadcast_run/cancel/", {"tenant_id": "acme", "workflow_slug": "x"}, BC_400),
    ],
)
def test_cancel_without_a_filter_is_the_documented_400(
    sb: SandboxServer, api: Any, path: str, body: Any, expected: dict
) -> None:
    seed(sb, [{"execution_id": "dsl_a", "tenant_id": "acme"}], [{"execution_id": "broadcast_a", "tenant_id": "acme"}])
    r = api.post(path, body)
    assert r.status_code == 400 and r.json() == expected
    assert set(statuses(sb).values()) == {"in_progress"}


@pytest.mark.parametrize(
    "body",
    [{"execution_id": 5}, {"recipients": "user_1"}, {"recipients": [1]}, {"workflow_slug": ["x"]}, ["dsl_a"]],
)
def test_cancel_with_badly_typed_filters_is_400(sb: SandboxServer, api: Any, body: Any) -> None:
    r = api.post("/v1/workflow_run/cancel/", body)
    assert r.status_code == 400 and r.json()["code"] == 400


def test_workflow_slug_alone_qualifies_by_default_and_can_be_switched_off(sb: SandboxServer, api: Any) -> None:
    seed(sb, [{"execution_id": "dsl_a", "workflow_slug": "promo"}, {"execution_id": "dsl_b", "workflow_slug": "otp"}])
    sb.admin("POST", "/config", {"suprsend": {"workflow_slug_alone_qualifies": False}})
    r = api.post("/v1/workflow_run/cancel/", {"workflow_slug": "promo"})
    assert r.status_code == 400 and r.json() == WF_400
    sb.admin("POST", "/config", {"suprsend": {"workflow_slug_alone_qualifies": True}})
    r = api.post("/v1/workflow_run/cancel/", {"workflow_slug": "promo"})
    assert r.status_code == 200 and r.json() == {"execution_ids": ["dsl_a"]}
    assert statuses(sb) == {"dsl_a": "cancelled", "dsl_b": "in_progress"}


# --------------------------------------------------------------------------- cancel rules
def test_workflow_filters_are_anded(sb: SandboxServer, api: Any) -> None:
    seed(
        sb,
        [
            {"execution_id": "dsl_1", "workflow_slug": "promo", "recipient": "u1", "tenant_id": "acme"},
            {
                "execution_id": "dsl_2",
                "workflow_slug": "promo",
                "recipient": "u2",
                "contact_info": ["u2@x.com"],
                "tenant_id": "acme",
            },
            {"execution_id": "dsl_3", "workflow_slug": "otp", "recipient": "u2", "tenant_id": "acme"},
            {"execution_id": "dsl_4", "workflow_slug": "promo", "recipient": "u2", "tenant_id": "other"},
            {"execution_id": "dsl_5", "workflow_slug": "promo", "recipient": "u3", "idempotency_key": "order-9"},
        ],
    )
    r = api.post(
        "/v1/workflow_run/cancel/",
        {"workflow_slug": "promo", "recipients": ["u2@x.com", "nobody"], "tenant_id": "acme"},
    )
    assert r.json() == {"execution_ids": ["dsl_2"]}  # contact info matches too
    r = api.post("/v1/workflow_run/cancel/", {"idempotency_key": "order-9", "recipients": ["u1"]})
    assert r.json() == {"execution_ids": []}  # both must match
    r = api.post("/v1/workflow_run/cancel/", {"recipients": ["u2"]})
    assert r.json() == {"execution_ids": ["dsl_3", "dsl_4"]}  # dsl_2 is already cancelled
    assert statuses(sb) == {
        "dsl_1": "in_progress",
        "dsl_2": "cancelled",
        "dsl_3": "cancelled",
        "dsl_4": "cancelled",
        "dsl_5": "in_progress",
    }
    calls = state(sb)["cancel_calls"]
    assert [c["cancelled"] for c in calls] == [["dsl_2"], [], ["dsl_3", "dsl_4"]]
    assert calls[2]["matched"] == ["dsl_2", "dsl_3", "dsl_4"]


def test_broadcast_cancel_by_list_idempotency_key_and_tenant(sb: SandboxServer, api: Any) -> None:
    seed(
        sb,
        broadcast=[
            {"execution_id": "broadcast_1", "list_id": "all", "idempotency_key": "launch-1"},
            {"execution_id": "broadcast_2", "list_id": "all", "tenant_id": "acme"},
            {"execution_id": "broadcast_3", "list_id": "vip"},
            {"execution_id": "broadcast_4", "list_id": "all", "status": "completed"},
        ],
    )
    assert api.post("/v1/broadcast_run/cancel/", {"idempotency_key": "launch-1"}).json() == {
        "execution_ids": ["broadcast_1"]
    }
    assert api.post("/v1/broadcast_run/cancel/", {"idempotency_key": "launch-1"}).json() == {
        "execution_ids": []
    }  # repeat
    assert api.post("/v1/broadcast_run/cancel/", {"list_id": "all", "tenant_id": "other"}).json() == {
        "execution_ids": []
    }
    assert api.post("/v1/broadcast_run/cancel/", {"list_id": "all"}).json() == {"execution_ids": ["broadcast_2"]}
    assert statuses(sb) == {
        "broadcast_1": "cancelled",
        "broadcast_2": "cancelled",
        "broadcast_3": "in_progress",
        "broadcast_4": "completed",
    }


def test_workflow_and_broadcast_runs_are_separate(sb: SandboxServer, api: Any) -> None:
    seed(
        sb,
        [{"execution_id": "dsl_1", "idempotency_key": "same"}],
        [{"execution_id": "broadcast_1", "idempotency_key": "same"}],
    )
    assert api.post("/v1/broadcast_run/cancel/", {"idempotency_key": "same"}).json() == {
        "execution_ids": ["broadcast_1"]
    }
    assert statuses(sb) == {"dsl_1": "in_progress", "broadcast_1": "cancelled"}


# --------------------------------------------------------------------------- state that moves over time
def test_runs_emit_messages_then_complete(sb: SandboxServer, api: Any) -> None:
    seed(sb, [{"execution_id": "dsl_1", "message_every_s": 10, "total_messages": 3, "final_status": "partial_failure"}])
    assert len(api.get("/v1/message/", execution_id="dsl_1").json()["results"]) == 1  # the first at the start
    advance_time(sb, 10)
    assert api.get("/v1/message/", execution_id="dsl_1").json()["meta"]["count"] == 2
    assert statuses(sb)["dsl_1"] == "in_progress"
    advance_time(sb, 10)
    assert statuses(sb)["dsl_1"] == "partial_failure"
    advance_time(sb, 60)
    assert api.get("/v1/message/", execution_id="dsl_1").json()["meta"]["count"] == 3
    r = api.post("/v1/workflow_run/cancel/", {"execution_id": "dsl_1"})
    assert r.json() == {"execution_ids": []}  # finished runs are nothing to cancel


def test_cancel_stops_messages_except_those_within_the_lag(sb: SandboxServer, api: Any) -> None:
    seed(
        sb,
        broadcast=[
            {"execution_id": "broadcast_1", "message_every_s": 10, "total_messages": 100},
            {"execution_id": "broadcast_2", "message_every_s": 10, "total_messages": 100},
        ],
    )  # 10 s apart: both cancels land well before the second message, even on a slow machine
    sb.admin("POST", "/config", {"suprsend": {"cancel_lag_s": 30}})
    api.post("/v1/broadcast_run/cancel/", {"execution_id": "broadcast_1"})
    sb.admin("POST", "/config", {"suprsend": {"cancel_lag_s": 0}})
    api.post("/v1/broadcast_run/cancel/", {"execution_id": "broadcast_2"})
    advance_time(sb, 120)
    counts = {
        e: api.get("/v1/message/", execution_id=e).json()["meta"]["count"] for e in ("broadcast_1", "broadcast_2")
    }
    assert counts == {"broadcast_1": 4, "broadcast_2": 1}  # the lag is fixed when the cancel lands
    run = next(r for r in state(sb)["broadcast_runs"] if r["execution_id"] == "broadcast_1")
    assert run["status"] == "cancelled" and run["emitted"] == 4


def test_admin_advance_emits_and_sets_status(sb: SandboxServer, api: Any) -> None:
    seed(sb, [{"execution_id": "dsl_1", "message_every_s": None, "total_messages": 5}])
    assert api.get("/v1/message/", execution_id="dsl_1").json()["meta"]["count"] == 0  # only admin moves it
    api.post("/v1/workflow_run/cancel/", {"execution_id": "dsl_1"})
    out = sb.admin("POST", "/suprsend/advance", {"execution_id": "dsl_1", "emit": 2})  # a cancel that did not take
    assert len(out["messages"]) == 2 and out["run"]["status"] == "cancelled"
    assert api.get("/v1/message/", execution_id="dsl_1").json()["meta"]["count"] == 2
    assert (
        sb.admin("POST", "/suprsend/advance", {"execution_id": "dsl_1", "status": "failed"})["run"]["status"]
        == "failed"
    )
    with pytest.raises(RuntimeError, match="404"):
        sb.admin("POST", "/suprsend/advance", {"execution_id": "nope"})


# --------------------------------------------------------------------------- message log
def test_message_shape_filters_and_second_precision(sb: SandboxServer, api: Any) -> None:
    seed(
        sb,
        [
            {
                "execution_id": "dsl_1",
                "workflow_slug": "promo",
                "recipient": "u1",
                "idempotency_key": "k1",
                "tenant_id": "acme",
                "message_every_s": 1.5,
                "total_messages": 4,
            }
        ],
        [
            {
                "execution_id": "broadcast_1",
                "list_id": "all",
                "recipients": ["a", "b"],
                "message_every_s": 1,
                "total_messages": 2,
            }
        ],
    )
    advance_time(sb, 10)
    body = api.get("/v1/message/", limit=100).json()
    assert body["meta"]["count"] == 6 and len(body["results"]) == 6
    created = [m["created_at"] for m in body["results"]]
    assert created == sorted(created, reverse=True) and all(c.endswith(".000Z") for c in created)
    wf = api.get("/v1/message/", execution_id="dsl_1").json()["results"][0]
    assert wf["execution_id"] == "dsl_1" and wf["workflow"]["slug"] == "promo" and wf["is_campaign"] is False
    assert wf["recipient"]["distinct_id"] == "u1" and wf["idempotency_key"] == "k1" and wf["tenant_id"] == "acme"
    assert wf["status"] == "delivered" and wf["delivered_at"] is not None
    bc = api.get("/v1/message/", execution_id="broadcast_1").json()["results"]
    assert {m["recipient"]["distinct_id"] for m in bc} == {"a", "b"} and all(m["is_campaign"] for m in bc)
    assert api.get("/v1/message/", is_campaign="true").json()["meta"]["count"] == 2
    assert api.get("/v1/message/", workflow_slug="promo", tenant_id="acme").json()["meta"]["count"] == 4
    assert api.get("/v1/message/", idempotency_key="k1").json()["meta"]["count"] == 4
    newest_wf = api.get("/v1/message/", execution_id="dsl_1", limit=1).json()
    assert newest_wf["meta"]["count"] == 4 and len(newest_wf["results"]) == 1
    cutoff = newest_wf["results"][0]["created_at"].replace(".000Z", ".999Z")  # sub-seconds are truncated
    assert api.get("/v1/message/", execution_id="dsl_1", created_at_gte=cutoff).json()["meta"]["count"] == 1
    assert api.get("/v1/message/", execution_id="dsl_1", created_at_lte=cutoff).json()["meta"]["count"] == 4


def test_message_pagination_and_validation(sb: SandboxServer, api: Any) -> None:
    seed(sb, [{"execution_id": "dsl_1", "message_every_s": 1, "total_messages": 5}])
    advance_time(sb, 10)
    first = api.get("/v1/message/", limit=2).json()
    assert first["meta"] == {
        "count": 5,
        "limit": 2,
        "has_prev": False,
        "has_next": True,
        "before": None,
        "after": first["results"][-1]["message_id"],
    }
    second = api.get("/v1/message/", limit=2, after=first["meta"]["after"]).json()
    third = api.get("/v1/message/", limit=2, after=second["meta"]["after"]).json()
    ids = [m["message_id"] for p in (first, second, third) for m in p["results"]]
    assert len(ids) == len(set(ids)) == 5 and third["meta"]["has_next"] is False
    back = api.get("/v1/message/", limit=2, before=second["meta"]["before"]).json()
    assert [m["message_id"] for m in back["results"]] == [m["message_id"] for m in first["results"]]
    assert api.get("/v1/message/").json()["meta"]["limit"] == 10  # the OpenAPI default
    for params in (
        {"limit": 1001},
        {"limit": 0},
        {"created_at_gte": "yesterday"},
        {"after": "nope"},
        {"created_at_gte": "2026-01-02T00:00:00Z", "created_at_lte": "2026-01-01T00:00:00Z"},
    ):
        r = api.get("/v1/message/", **params)
        assert r.status_code == 400 and r.json()["code"] == 400, params


# --------------------------------------------------------------------------- admin, faults, config
def test_seed_validation_and_defaults(sb: SandboxServer) -> None:
    for body in (
        {"workflow_runs": [{"status": "teleported"}]},
        {"broadcast_runs": [{"recipients": []}]},
        {"workflow_runs": [{"execution_id": "x"}, {"execution_id": "x"}]},
        {"runs": []},
        {"workflow_runs": [{"message_every_s": 0}]},
        {"workflow_runs": [{"final_status": "cancelled"}]},
    ):
        with pytest.raises(RuntimeError, match="400"):
            sb.admin("POST", "/suprsend/seed", body)
    assert state(sb)["workflow_runs"] == []  # all-or-nothing
    out = seed(sb, [{}], [{}])
    wf, bc = out["workflow_runs"][0], out["broadcast_runs"][0]
    assert (
        wf["execution_id"].startswith("dsl_")
        and wf["status"] == "in_progress"
        and wf["workflow_slug"] == "sandbox-workflow"
    )
    assert bc["execution_id"].startswith("broadcast_") and bc["list_id"] == "sandbox-list" and bc["total_messages"] == 3


def test_config_defaults_and_validation(sb: SandboxServer) -> None:
    assert sb.admin("GET", "/config")["suprsend"] == {
        "api_key": KEY,
        "rate_limit_per_second": 0,
        "workflow_slug_alone_qualifies": True,
        "cancel_lag_s": 0.0,
    }
    for patch in ({"cancel_lag_s": -1}, {"workflow_slug_alone_qualifies": "yes"}, {"api_key": ""}):
        with pytest.raises(RuntimeError, match="400"):
            sb.admin("POST", "/config", {"suprsend": patch})


def test_injected_fault_uses_the_error_shape_and_cancels_nothing(sb: SandboxServer, api: Any) -> None:
    seed(sb, [{"execution_id": "dsl_1"}])
    sb.admin("POST", "/suprsend/faults", {"fail_next": 1, "status": 503})
    r = api.post("/v1/workflow_run/cancel/", {"execution_id": "dsl_1"})
    assert r.status_code == 503 and r.json() == {"code": 503, "message": "Injected fault"}
    assert statuses(sb)["dsl_1"] == "in_progress"
    assert api.post("/v1/workflow_run/cancel/", {"execution_id": "dsl_1"}).json() == {"execution_ids": ["dsl_1"]}
