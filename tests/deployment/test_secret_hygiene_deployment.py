"""After every other deployment test: no vendor key anywhere the deployment wrote."""

from __future__ import annotations

import pytest

from tests.deployment.conftest import SECRETS


@pytest.mark.after_all_runs
def test_no_key_in_any_log_or_the_metadata_db(deployment):
    written = deployment.everything_written()
    # The check can fail: the dump really holds what the runs wrote (the sandbox's URL is in every connection).
    assert deployment.sandbox.url.split("//")[1] in written or "CampaignStatusTrigger" in written
    assert "CampaignStatusTrigger" in written  # trigger kwargs (stored as plain JSON) are in the dump
    leaked = {vendor for vendor, key in SECRETS.items() if key in written}
    assert not leaked, f"keys of {sorted(leaked)} found in a log or the metadata DB"
