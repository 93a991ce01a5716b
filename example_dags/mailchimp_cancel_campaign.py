"""
Kill switch for a Mailchimp campaign: cancel it mid-send, or unschedule it before it starts.

Trigger it by hand with the campaign and the action; the action is never guessed::

    airflow dags trigger mailchimp_cancel_campaign -c '{"campaign_id": "42694e9e57", "action": "cancel_send"}'

``cancel_send`` stops a campaign that is sending and waits (in the triggerer) through Mailchimp's
``canceling`` until it reads ``canceled``; ``unschedule`` takes back a scheduled campaign, which is a
draft as soon as Mailchimp answers, so there is nothing to wait for.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider_cancel.operators.mailchimp import MailchimpCancelCampaignOperator

with DAG(
    dag_id="mailchimp_cancel_campaign",
    description="Cancel a sending Mailchimp campaign, or unschedule a scheduled one",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kill-switch", "mailchimp"],
    params={
        "campaign_id": Param("", type="string", description="Mailchimp campaign id"),
        "action": Param(
            type="string",
            enum=["cancel_send", "unschedule"],
            description="cancel_send: it is sending; unschedule: it is scheduled and has not started",
        ),
    },
) as dag:
    # [START mailchimp_cancel_campaign]
    cancel = MailchimpCancelCampaignOperator(
        task_id="cancel_campaign",
        campaign_id="{{ params.campaign_id }}",
        action="{{ params.action }}",  # required: cancel_send or unschedule, never guessed
        mailchimp_conn_id="mailchimp_default",
        wait_for_completion=True,  # cancel_send: through "canceling" until "canceled"
        deferrable=True,
        poll_interval=2,
        wait_timeout=600,
        retries=2,
        retry_delay=timedelta(seconds=10),  # a kill switch retries fast
    )
    # [END mailchimp_cancel_campaign]
