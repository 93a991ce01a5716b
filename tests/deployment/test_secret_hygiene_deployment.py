"""After every other deployment test: no vendor key anywhere the deployment wrote; with Celery, both workers worked."""

from __future__ import annotations

import pytest

from tests.deployment.conftest import EXECUTOR, SECRETS


@pytest.mark.after_all_runs
def test_no_key_in_any_log_or_the_metadata_db(deployment):
    written = deployment.everything_written()
    # The check can fail: the dump really holds what the runs wrote (their DAGs, task logs and results).
    assert "arsel_cancel_campaign" in written and "kill_switch.report" in written and '"outcome"' in written
    leaked = {vendor for vendor, key in SECRETS.items() if key in written}
    assert not leaked, f"keys of {sorted(leaked)} found in a log or the metadata DB"


@pytest.mark.after_all_runs
@pytest.mark.skipif(EXECUTOR != "celery", reason="only with DEPLOYMENT_EXECUTOR=celery")
def test_both_celery_workers_ran_tasks(deployment):
    for worker in ("worker-1", "worker-2"):
        assert "execute_workload" in deployment.log(worker, 100000), deployment.log(worker)
