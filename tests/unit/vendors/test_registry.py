"""The vendor registry: discovery, provider-info metadata, and validating a mixed list of targets at once."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from airflow_provider_cancel.exceptions import InvalidTarget
from airflow_provider_cancel.vendors import parse_targets, vendor, vendors

MIXED = [
    {"vendor": "arsel", "campaign_id": "c1", "channel": "SMS"},
    {"vendor": "suprsend_workflow", "execution_id": "dsl_1"},
    {"vendor": "suprsend_broadcast", "list_id": "all-users", "allow_broad_match": "true", "conn_id": "suprsend_eu"},
    {"vendor": "periskope", "broadcast_id": "b1"},
    {"vendor": "loop_comms", "campaign_id": "l1"},
]


def test_a_mixed_list_for_every_vendor_validates_in_one_call_without_airflow_or_http():
    # A fresh interpreter: proves no Airflow module and no HTTP client is imported to validate targets.
    code = (
        "import json, sys; from airflow_provider_cancel.vendors import parse_targets; "
        f"ts = parse_targets(json.loads({json.dumps(json.dumps(MIXED))})); "
        "print(json.dumps([t.to_dict() for t in ts])); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'requests', 'aiohttp')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    targets = json.loads(out[0])
    assert [t["vendor"] for t in targets] == [m["vendor"] for m in MIXED]
    assert targets[0]["channel"] == "sms" and targets[2]["allow_broad_match"] is True
    assert targets[2]["conn_id"] == "suprsend_eu"
    assert out[1] == "[]"


def test_every_problem_in_a_mixed_list_is_reported_at_once_by_position_and_field():
    bad = [
        {"vendor": "arsel", "channel": "fax"},  # missing id and a bad channel
        {"vendor": "mailgun", "campaign_id": "m1"},  # unknown vendor
        {"vendor": "suprsend_workflow", "workflow_slug": "promo"},  # broad without the opt-in
        {"vendor": "periskope", "broadcast_id": "b1"},
        {"vendor": "periskope", "broadcast_id": " b1 "},  # duplicate once stripped
        {"vendor": "loop_comms", "campaign_id": ["l1"]},  # wrong type
        "not an object",
    ]
    with pytest.raises(InvalidTarget) as err:
        parse_targets(bad)
    assert err.value.fields == [
        "targets[0].campaign_id",
        "targets[0].channel",
        "targets[1].vendor",
        "targets[2].allow_broad_match",
        "targets[4]",
        "targets[5].campaign_id",
        "targets[6]",
    ]
    assert "duplicate of targets[3]" in str(err.value)


@pytest.mark.parametrize("raw", ["[]", {"vendor": "arsel"}, None])
def test_targets_must_be_a_list(raw):
    with pytest.raises(InvalidTarget, match="targets must be a list"):
        parse_targets(raw)


def test_lookup_names_the_known_vendors():
    assert vendor("arsel").conn_type == "arsel"
    with pytest.raises(KeyError, match="known: arsel"):
        vendor("nope")


def test_discovery_is_sorted_and_complete():
    assert list(vendors()) == sorted(vendors()) and len(vendors()) >= 4
