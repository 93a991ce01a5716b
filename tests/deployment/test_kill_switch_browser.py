"""On-call's path in the real UI (headless Chromium): trigger ``kill_switch`` from its trigger form with
pasted targets, approve in the UI, see the run succeed. Screenshots in ``test-artifacts/kill-switch/``."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.ui.conftest import browser, open_page, page  # noqa: F401 - the UI tests' Chromium fixtures

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "kill-switch"


def shot(page, name: str) -> None:  # noqa: F811
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, animations="disabled")


def latest_run(deployment) -> str | None:
    status, body = deployment.call("GET", "/api/v2/dags/kill_switch/dagRuns?order_by=-run_after&limit=1")
    runs = (body or {}).get("dag_runs", []) if status == 200 else []
    return runs[0]["dag_run_id"] if runs else None


def test_trigger_from_the_form_approve_in_the_ui_and_the_run_succeeds(deployment, sandbox, page):  # noqa: F811
    from playwright.sync_api import expect

    campaigns = sandbox.admin(
        "POST",
        "/arsel/seed",
        {"campaigns": [{"channel": "email", "name": f"promo {i}", "status": "sending"} for i in range(3)]},
    )["campaigns"]
    sandbox.admin(
        "POST",
        "/suprsend/seed",
        {
            "broadcast_runs": [
                {"execution_id": "bc_all", "list_id": "all-users", "message_every_s": 1, "total_messages": 500},
            ]
        },
    )
    targets = [{"vendor": "arsel", "campaign_id": c["id"], "channel": "email"} for c in campaigns[:2]]
    targets.append(
        {"vendor": "suprsend_broadcast", "list_id": "all-users", "allow_broad_match": True, "settle_seconds": 2}
    )
    deployment.dag_ready("kill_switch")
    before = latest_run(deployment)

    open_page(page, f"{deployment.api.url}/dags/kill_switch")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Run Parameters")).to_be_visible()
    # The targets field is a code editor: wait until it is there, then paste the JSON over its "[]".
    editor = dialog.locator("#element_targets").locator("textarea, [contenteditable='true']").first
    expect(editor).to_be_attached(timeout=30_000)
    editor.click(force=True)
    # Pasted, as on-call does: typing would let the editor auto-close brackets and quotes.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=deployment.api.url)
    page.evaluate("text => navigator.clipboard.writeText(text)", json.dumps(targets))
    page.keyboard.press("Control+A")
    page.keyboard.press("Control+V")
    expect(dialog.locator("#element_targets")).to_contain_text('"vendor"')  # the editor shows the pasted list
    expect(dialog.get_by_text("SyntaxError")).to_have_count(0)
    dialog.locator('label[id="switch:element_dry_run"]').click()  # dry_run off
    expect(dialog.locator('input[name="element_dry_run"]')).not_to_be_checked()
    shot(page, "01-trigger-form")
    dialog.get_by_role("button", name="Trigger").click()

    run_id = deployment.wait_for(
        "the UI to start a run", lambda: (r := latest_run(deployment)) != before and r, timeout=60
    )
    approval_path = f"/api/v2/dags/kill_switch/dagRuns/{run_id}/taskInstances/kill_switch.approval/-1/hitlDetails"
    detail = deployment.wait_for(
        "the approval request",
        lambda: (d := deployment.call("GET", approval_path)[1]) and isinstance(d, dict) and d.get("options") and d,
    )
    assert "broad filter" in detail["subject"]
    # Nothing cancelled while the person decides.
    assert {c["status"] for c in sandbox.admin("GET", "/arsel/state")["campaigns"]} == {"sending"}

    # A person reads the table before answering. (An answer within a second or two of the request can hit
    # an Airflow core race that fails a task whose trigger fires that fast: apache/airflow#72716, #71580.)
    time.sleep(8)
    open_page(page, f"{deployment.api.url}/dags/kill_switch/runs/{run_id}/tasks/kill_switch.approval/required_actions")
    approve = page.get_by_role("button", name="Approve")
    expect(approve).to_be_visible(timeout=60_000)
    expect(page.get_by_text(campaigns[0]["id"]).first).to_be_visible()  # the dry-run table is shown
    shot(page, "02-approval")
    approve.click()

    state = deployment.wait_for_run("kill_switch", run_id)
    open_page(page, f"{deployment.api.url}/dags/kill_switch/runs/{run_id}")
    page.wait_for_timeout(3000)
    shot(page, "03-run")
    assert state == "success", (deployment.task_states("kill_switch", run_id), deployment.logs())
    statuses = {c["id"]: c["status"] for c in sandbox.admin("GET", "/arsel/state")["campaigns"]}
    assert [statuses[c["id"]] for c in campaigns] == ["cancelled", "cancelled", "sending"]
    report = deployment.xcom("kill_switch", run_id, "kill_switch.report")
    assert report["counts"] == {"cancelled": 3}, report
