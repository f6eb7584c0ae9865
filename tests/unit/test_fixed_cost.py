"""The bench's fixed monthly cost follows template.yaml: every billable resource has a price."""

from __future__ import annotations

import pytest

from devkit.bench.fixed_cost import (
    DEPLOYMENT,
    FREE_WHEN_IDLE,
    MONTHLY,
    UnpricedResource,
    fixed_monthly_cost,
    resources,
)
from devkit.template import TEMPLATE, load_template


def test_every_resource_type_in_the_template_is_priced_or_known_to_be_free_when_idle():
    types = {resource["Type"] for resource in load_template()["Resources"].values()}  # whatever the conditions

    assert types - set(MONTHLY) - set(FREE_WHEN_IDLE) == set()


def test_a_billable_resource_added_without_a_price_fails(tmp_path):
    added = "Resources:\n  NewLoadBalancer:\n    Type: AWS::ElasticLoadBalancingV2::LoadBalancer\n"
    template = TEMPLATE.read_text().replace("Resources:\n", added, 1)
    path = tmp_path / "template.yaml"
    path.write_text(template)

    with pytest.raises(UnpricedResource, match="AWS::ElasticLoadBalancingV2::LoadBalancer"):
        fixed_monthly_cost(idle_invocation_seconds=0.1, path=path)


def test_the_cost_counts_the_template_s_own_resources_and_follows_its_conditions():
    items = {item.what: item for item in fixed_monthly_cost(idle_invocation_seconds=0.1)}
    with_slack = {
        item.what: item
        for item in fixed_monthly_cost(
            0.1, {**_deployment(), "SlackIncomingWebhookUrl": "https://hooks.slack.com/services/T1/B1/x"}
        )
    }
    created = resources(_deployment())
    alarms = sum(1 for kind in created.values() if kind == "AWS::CloudWatch::Alarm")
    secrets = sum(1 for kind in created.values() if kind == "AWS::SecretsManager::Secret")

    assert items["CloudWatch Alarm"].dollars == pytest.approx(alarms * MONTHLY["AWS::CloudWatch::Alarm"])
    assert items["SecretsManager Secret"].dollars == pytest.approx(secrets * 0.40)
    assert with_slack["SecretsManager Secret"].dollars == pytest.approx((secrets + 1) * 0.40)  # HasSlack
    assert items["Lambda poller: the schedule's runs"].dollars > 0


def test_the_schedule_s_runs_follow_the_schedule():
    every_minute = {i.what: i.dollars for i in fixed_monthly_cost(0.1)}
    every_five = {i.what: i.dollars for i in fixed_monthly_cost(0.1, schedule_seconds=300)}

    assert every_five["Lambda poller: the schedule's runs"] == pytest.approx(
        every_minute["Lambda poller: the schedule's runs"] / 5
    )


def _deployment() -> dict[str, str]:
    return dict(DEPLOYMENT)
