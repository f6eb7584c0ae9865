"""The deliverer's role and routes: PutEvents only on the buses RouteEventBusArns names, and the code
puts on exactly those (template.yaml's own resources on moto, calls seen through a FaultProxy)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from devkit.aws import MotoServer
from devkit.event_source import SqsEventSource
from devkit.logs import LogFactory
from devkit.proxy import FaultProxy
from devkit.template import stack_from_template
from tests.integration.conftest import PARAMETERS, use_environ
from tests.integration.test_routes_eventbridge import arrived, bus_to_queue
from tests.integration.test_template_iam import grants

ACCOUNT_BUS = "arn:aws:events:us-east-1:123456789012:event-bus/"


def test_the_deliverer_puts_events_only_on_the_buses_its_role_allows(
    moto: MotoServer, monkeypatch, tmp_path: Path, cold_powertools
):
    default_stack = stack_from_template(moto.url, PARAMETERS)
    assert not [action for action, _ in grants(default_stack, "deliverer")[0] if action.startswith("events:")]

    stack = stack_from_template(moto.url, {**PARAMETERS, "RouteEventBusArns": f"{ACCOUNT_BUS}siem,{ACCOUNT_BUS}ops"})
    allowed = {pair for pair in grants(stack, "deliverer")[0] if pair[0].startswith("events:")}
    assert allowed == {("events:PutEvents", f"{ACCOUNT_BUS}siem"), ("events:PutEvents", f"{ACCOUNT_BUS}ops")}

    queue_url = bus_to_queue(stack, "siem")
    routes = tmp_path / "routes.yaml"
    route = {"id": "events", "destination": {"type": "eventbridge", "bus": "siem"}}
    routes.write_text(yaml.safe_dump({"routes": [route]}))
    logs = LogFactory(seed=70).many(3)
    sqs = stack.client("sqs")
    sqs.send_message(
        QueueUrl=stack.queue_url,
        MessageBody=json.dumps(logs),
        MessageAttributes={"route": {"DataType": "String", "StringValue": "events"}},
    )
    with FaultProxy(moto.url) as proxy:
        use_environ(monkeypatch, stack, "deliverer", ROUTES_FILE=str(routes))
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        from functions.deliverer.app import lambda_handler

        assert SqsEventSource(sqs, stack.queue_url).poll_once(lambda_handler) == (1, 0)

    puts = [json.loads(r.body) for r in proxy.seen if r.headers.get("x-amz-target") == "AWSEvents.PutEvents"]
    assert {f"{ACCOUNT_BUS}{e['EventBusName']}" for put in puts for e in put["Entries"]} <= {r for _, r in allowed}
    assert sorted(event["detail"]["log_id"] for event in arrived(stack, queue_url)) == [log["log_id"] for log in logs]
