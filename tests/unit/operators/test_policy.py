"""The one task failure policy: which domain errors fail a task at once."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_cancel.exceptions import (
    AmbiguousWriteError,
    CampaignFinishedError,
    ConnectionConfigError,
    InvalidTarget,
    UnexpectedAnswerError,
    VendorAPIError,
)
from airflow_provider_cancel.operators.policy import task_failure_policy


@pytest.mark.parametrize(
    "error",
    [
        InvalidTarget("campaign_id is required", field="campaign_id"),
        CampaignFinishedError("it was sent"),
        AmbiguousWriteError("purge-all got no answer"),
        ConnectionConfigError("no API key"),
        VendorAPIError("arsel", 400, "bad"),
        VendorAPIError("arsel", 401, "bad key"),
        VendorAPIError("arsel", 404, "no such campaign"),
        VendorAPIError("arsel", 429, "quota", code="monthly_quota_exceeded"),
    ],
)
def test_errors_a_retry_cannot_fix_fail_now_naming_their_type(error):
    with pytest.raises(AirflowFailException) as err, task_failure_policy(frozenset({"monthly_quota_exceeded"})):
        raise error
    assert err.value.error is error and err.value.__cause__ is None  # logged once, not twice
    assert str(err.value).startswith(f"{type(error).__name__}: ")


@pytest.mark.parametrize(
    "error",
    [
        VendorAPIError("arsel", 429, "slow down"),
        VendorAPIError("arsel", 408, "timeout"),
        VendorAPIError("arsel", 503, "down"),
        VendorAPIError("arsel", None, "connection reset"),
        UnexpectedAnswerError("odd body"),
        RuntimeError("anything else"),
    ],
)
def test_other_errors_stay_retryable(error):
    with pytest.raises(type(error)) as err, task_failure_policy():
        raise error
    assert err.value is error
