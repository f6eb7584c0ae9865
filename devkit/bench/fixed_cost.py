"""The fixed monthly cost of an idle deployment, from template.yaml's own resources at list prices.

It reads the template at run time, with the parameters a deployment gives (the required ones and
a signing secret; everything else at its default), keeps the resources whose conditions hold,
and prices each by its type (``MONTHLY``). Types that cost nothing while idle are listed in
``FREE_WHEN_IDLE`` with the reason; a type in neither raises :class:`UnpricedResource`, so a
billable resource cannot join the template without a price (``tests/unit/test_fixed_cost.py``).
What is per log (requests, bytes) is in :mod:`devkit.bench.cost`; this is what a month costs
with no logs at all, before any free tier.

>>> items = fixed_monthly_cost(idle_invocation_seconds=0.1)
>>> [item.what for item in items if item.what.startswith("Secrets")]
['SecretsManager Secret']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auth0_webhooks.metrics import OCCASIONAL, PUBLISHED

from ..template import TEMPLATE, TemplateStack, load_template, parameter_values
from .config import DEPLOYED_SCHEDULE_SECONDS, LAMBDA_MEMORY_GB, PLATFORM_LOG_BYTES
from .cost import PRICES

MINUTES_A_MONTH = 30 * 24 * 60
# AWS list prices a month, us-east-1 (checked 2025-07, as PRICES)
MONTHLY: dict[str, float] = {
    "AWS::SecretsManager::Secret": 0.40,  # per secret a month
    "AWS::CloudWatch::Alarm": 0.10,  # standard resolution, per metric the alarm watches
    "AWS::CloudWatch::Dashboard": 3.00,  # per dashboard a month (an account's first three are free)
    "AWS::KMS::Key": 1.00,  # a customer managed key
    "custom_metric": 0.30,  # per custom metric a month, first 10,000
}
FREE_WHEN_IDLE: dict[str, str] = {
    "AWS::Serverless::LayerVersion": "storage of the layer's code: none billed",
    "AWS::Serverless::Function": "billed per invocation: the schedule's and the event source's are priced below",
    "AWS::DynamoDB::Table": "on demand: billed per request and per GB stored (one small item)",
    "AWS::SQS::Queue": "billed per request: the event source's polling is priced below",
    "AWS::Logs::LogGroup": "billed per GB ingested and stored: the schedule's log lines are priced below",
    "AWS::IAM::Role": "free",
    "AWS::IAM::Policy": "free",
    "AWS::Lambda::Permission": "free",
    "AWS::SNS::Topic": "billed per publish: alarms only",
    "AWS::SNS::Subscription": "e-mail notifications: the first 1,000 a month are free",
    "AWS::Events::Rule": "scheduled rules are free",
    "AWS::Scheduler::Schedule": "the first 14 million invocations a month are free",
}
# the event source mapping long-polls an empty queue with 5 connections, each a ReceiveMessage every 20 s
EVENT_SOURCE_RECEIVES_A_MONTH = 5 * 3 * MINUTES_A_MONTH
POLLER_LOG_BYTES = 2_000  # a run's "poller run ended" line and its EMF metrics, about
DEPLOYMENT = {  # what a user gives `sam deploy` with the defaults: the required parameters only
    "Auth0Domain": "example.eu.auth0.com",
    "Auth0ClientId": "client",
    "Auth0ClientSecret": "secret",
    "WebhookUrl": "https://hooks.example.com/auth0",
}  # each optional secret (WebhookSecret, WebhookAuthorization, Slack) adds $0.40 a month: README, Cost


class UnpricedResource(ValueError):
    """The template has a resource type the model has no price for."""


@dataclass(frozen=True)
class FixedCost:
    what: str
    dollars: float  # a month
    how: str


def resources(parameters: Mapping[str, str], path: Path = TEMPLATE) -> dict[str, str]:
    """Logical id -> type of every resource created with these parameters (conditions applied)."""
    template = load_template(path)
    stack = TemplateStack(table="", queue_url="", dead_letter_queue_url="", endpoint="", template=template)
    stack.parameters = parameter_values(template, parameters)
    for name, expression in template.get("Conditions", {}).items():
        stack.conditions[name] = bool(stack.resolve(expression))
    return {logical_id: str(r["Type"]) for logical_id, r in template["Resources"].items() if stack.exists(logical_id)}


def custom_metrics() -> list[str]:
    """The metrics a working stack sends every hour (one series each: the only dimension is ``stack``).

    ``metrics.PUBLISHED`` less the ``OCCASIONAL`` ones, sent only in hours when something went wrong
    (``Anomalies``, ``RoutesPaused``): the other counts stay in the runs' log lines.
    """
    return sorted(PUBLISHED - OCCASIONAL)


def _alarm_metrics(resource: Mapping[str, Any]) -> int:
    """An alarm is billed per metric it watches: one, or each metric of its metric math."""
    queries = resource.get("Properties", {}).get("Metrics") or []
    return max(1, sum(1 for q in queries if isinstance(q, dict) and "MetricStat" in q))


def fixed_monthly_cost(
    idle_invocation_seconds: float,
    parameters: Mapping[str, str] = DEPLOYMENT,
    path: Path = TEMPLATE,
    schedule_seconds: float = DEPLOYED_SCHEDULE_SECONDS,
) -> list[FixedCost]:
    """What a month costs with no logs: one line per kind of resource, and the schedule's runs."""
    found = resources(parameters, path)
    template = load_template(path)["Resources"]
    every = {str(resource["Type"]) for resource in template.values()}  # whatever the conditions
    unpriced = sorted(every - set(MONTHLY) - set(FREE_WHEN_IDLE))
    if unpriced:
        raise UnpricedResource(f"template.yaml has resources the cost model cannot price: {', '.join(unpriced)}")
    items: list[FixedCost] = []
    for kind in sorted({t for t in found.values() if t in MONTHLY}):
        ids = [i for i, t in found.items() if t == kind]
        units = sum(_alarm_metrics(template[i]) for i in ids) if kind == "AWS::CloudWatch::Alarm" else len(ids)
        items.append(
            FixedCost(
                kind.split("::", 1)[1].replace("::", " "), units * MONTHLY[kind], f"{units} x ${MONTHLY[kind]:.2f}"
            )
        )
    metrics = custom_metrics()
    items.append(
        FixedCost(
            "CloudWatch custom metrics",
            len(metrics) * MONTHLY["custom_metric"],
            f"{len(metrics)} x $0.30: {', '.join(metrics)}",
        )
    )
    runs = MINUTES_A_MONTH * 60 / schedule_seconds
    duration = runs * idle_invocation_seconds * LAMBDA_MEMORY_GB * PRICES["lambda_gb_second_arm64"]
    log_gb = runs * (POLLER_LOG_BYTES + PLATFORM_LOG_BYTES) / 1e9
    items.append(
        FixedCost(
            "Lambda poller: the schedule's runs",
            runs * PRICES["lambda_request"] + duration + log_gb * PRICES["cloudwatch_logs_gb"],
            f"{runs:,.0f} runs of {idle_invocation_seconds * 1000:.0f} ms finding nothing, their log lines",
        )
    )
    items.append(
        FixedCost(
            "SQS: the event source's polling",
            EVENT_SOURCE_RECEIVES_A_MONTH * PRICES["sqs_request"],
            f"{EVENT_SOURCE_RECEIVES_A_MONTH:,} long polls of the empty queue (5 connections, 20 s each)",
        )
    )
    return items
