"""template.yaml against the code: handlers, settings, resources, alarms and the checkov exceptions."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from auth0_webhooks.env import Env
from auth0_webhooks.metrics import OCCASIONAL, PUBLISHED
from auth0_webhooks.settings import DelivererSettings, PollerSettings, SlackSettings

from devkit.logs import LogFactory
from devkit.receivers import WebhookReceiver
from devkit.template import TEMPLATE, TemplateStack, load_template, stack_from_template
from devkit.tenant import LocalTenant
from tests.conftest import ROOT
from tests.integration.conftest import AUTHORIZATION, LOCAL_SETTINGS, PARAMETERS, SIGNING_SECRET

TEMPLATE_DATA = load_template()
RESOURCES: dict[str, Any] = TEMPLATE_DATA["Resources"]

# What each handler reads its settings with (functions/<name>/app.py calls it first).
SETTINGS_READERS: dict[str, Callable[[Mapping[str, str]], object]] = {
    "poller": PollerSettings.from_env,
    "deliverer": DelivererSettings.from_env,
    "alerter": lambda environ: SlackSettings.from_env(Env(environ)),
}
# Settings the code reads that the template leaves unset on purpose, and why.
LEFT_TO_DEFAULTS: dict[str, dict[str, str]] = {
    "poller": {},
    "deliverer": {
        "ALLOW_INSECURE_WEBHOOK": "only for local receivers; a deployed webhook is https",
        "RETRY_BASE_SECONDS": "the default backoff (30 s doubling) suits; not a stack parameter",
        "RETRY_MAX_SECONDS": "the default cap (900 s, SQS's longest delay) suits",
        "BREAKER_FAILURES": "the default (10 failures in a row) suits; README: Route health says how to change it",
        "BREAKER_PROBE_SECONDS": "the default (a probe a minute) suits; README: Route health says how to change it",
    },
    "alerter": {"SLACK_SEND_SUCCESS": "alarm posts do not depend on it"},
}


def test_every_function_has_its_code_and_an_importable_handler(template_stack):
    assert set(template_stack.functions) == {"poller", "deliverer", "alerter"}
    for function in template_stack.functions.values():
        module_name, handler_name = function.handler.rsplit(".", 1)
        assert (function.code_uri / f"{module_name}.py").is_file()
        assert function.code_uri.parent == ROOT / "functions"
        module = importlib.import_module(f"functions.{function.name}.{module_name}")
        assert callable(getattr(module, handler_name))


def test_the_runtime_is_a_current_python_and_the_layer_is_built_for_it():
    runtime = TEMPLATE_DATA["Globals"]["Function"]["Runtime"]
    major, minor = (int(part) for part in re.fullmatch(r"python(\d+)\.(\d+)", runtime).groups())  # type: ignore[union-attr]
    assert (major, minor) >= (3, 12)
    layer = RESOURCES["SharedLayer"]
    assert layer["Metadata"]["BuildMethod"] == runtime
    assert runtime in layer["Properties"]["CompatibleRuntimes"]
    assert (ROOT / layer["Properties"]["ContentUri"] / "requirements.txt").is_file()
    assert (ROOT / layer["Properties"]["ContentUri"] / "auth0_webhooks" / "__init__.py").is_file()
    for name, resource in RESOURCES.items():
        if resource["Type"] == "AWS::Serverless::Function":
            assert "Runtime" not in resource["Properties"], f"{name} should use the Globals runtime"


def test_the_queue_gives_the_deliverer_six_times_its_timeout_and_redrives_after_max_receive_count():
    deliverer = RESOURCES["DelivererFunction"]["Properties"]
    queue = RESOURCES["Queue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * deliverer["Timeout"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "MaxReceiveCount"}
    assert deliverer["Environment"]["Variables"]["MAX_RECEIVE_COUNT"] == {"Ref": "MaxReceiveCount"}
    assert RESOURCES["DeadLetterQueue"]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    [event] = deliverer["Events"].values()
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert RESOURCES["PollerFunction"]["Properties"]["ReservedConcurrentExecutions"] == 1


def test_the_outputs_are_what_operators_and_make_redrive_use():
    outputs = TEMPLATE_DATA["Outputs"]
    for name in ("QueueUrl", "DeadLetterQueueUrl", "CheckpointTableName", "AlarmTopicArn", "DashboardUrl"):
        assert name in outputs
    from auth0_webhooks.ops.aws import STACK_OUTPUTS

    assert set(STACK_OUTPUTS) <= set(outputs)


def test_samconfig_deploys_the_stack_with_the_capabilities_it_needs():
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())["default"]
    deploy = config["deploy"]["parameters"]
    assert config["global"]["parameters"]["stack_name"] == "auth0-webhooks"
    assert (deploy["capabilities"], deploy["confirm_changeset"], deploy["resolve_s3"]) == ("CAPABILITY_IAM", True, True)
    named = ("RoleName", "ManagedPolicyName", "UserName", "GroupName", "InstanceProfileName")
    for name, resource in RESOURCES.items():  # a named IAM resource would need CAPABILITY_NAMED_IAM
        if resource["Type"].startswith("AWS::IAM::"):
            assert not set(named) & set(resource["Properties"]), name


def test_every_security_scan_exception_is_justified():
    skips = [
        (name, skip)
        for name, resource in RESOURCES.items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips, "the template is expected to document its checkov exceptions"
    for name, skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (name, skip)
        assert len(skip.get("comment", "").split()) >= 5, f"{name}: {skip['id']} needs a reason"
    assert "checkov:skip=" not in TEMPLATE.read_text(), "use Metadata (checked here), not comments"


# -- on moto ----------------------------------------------------------------------------------------------


def test_the_queues_table_and_secrets_are_made_from_the_template(moto):
    stack = stack_from_template(moto.url, {**PARAMETERS, "MaxReceiveCount": 3})
    sqs = stack.client("sqs")
    queue = sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=stack.dead_letter_queue_url, AttributeNames=["All"])["Attributes"]
    assert (queue["VisibilityTimeout"], queue["MaximumMessageSize"], queue["SqsManagedSseEnabled"]) == (
        "360",
        "1048576",
        "true",
    )
    assert json.loads(queue["RedrivePolicy"]) == {"deadLetterTargetArn": dlq["QueueArn"], "maxReceiveCount": 3}
    assert (dlq["MessageRetentionPeriod"], dlq["SqsManagedSseEnabled"]) == ("1209600", "true")
    assert stack.environ_for("deliverer")["MAX_RECEIVE_COUNT"] == "3"

    table = stack.client("dynamodb").describe_table(TableName=stack.table)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"

    secrets = stack.client("secretsmanager")
    value = secrets.get_secret_value(SecretId=stack.environ_for("poller")["AUTH0_CLIENT_SECRET_ARN"])
    assert value["SecretString"] == PARAMETERS["Auth0ClientSecret"]


def test_without_the_optional_secrets_neither_the_secrets_nor_their_settings_exist(moto):
    required = ("Auth0Domain", "Auth0ClientId", "Auth0ClientSecret", "WebhookUrl")
    stack = stack_from_template(moto.url, {name: PARAMETERS[name] for name in required})
    assert set(stack.physical_ids) == {"SecretAuth0ClientSecret", "CheckpointTable", "Queue", "DeadLetterQueue"}
    assert set(stack.functions) == {"poller", "deliverer"}  # no Slack: no alerter
    deliverer, poller = stack.environ_for("deliverer"), stack.environ_for("poller")
    assert not {"WEBHOOK_AUTHORIZATION_ARN", "WEBHOOK_SECRET_ARN", "SLACK_INCOMING_WEBHOOK_URL_ARN"} & set(deliverer)
    assert "SLACK_INCOMING_WEBHOOK_URL_ARN" not in poller
    statements = stack.resolve(RESOURCES["DelivererRole"]["Properties"]["Policies"])[0]["PolicyDocument"]["Statement"]
    # only the statement for secrets a routes file may name, under the stack's prefix
    read = [s for s in statements if s["Action"] == "secretsmanager:GetSecretValue"]
    assert [s["Sid"] for s in read] == ["RouteSecrets"] and read[0]["Resource"].endswith(f":secret:{stack.name}/*")
    settings = DelivererSettings.from_env({**deliverer})
    assert (settings.authorization, settings.signing_secret, settings.slack.url) == (None, None, None)


def test_parameters_are_checked_as_cloudformation_checks_them(moto):
    with pytest.raises(ValueError, match="parameter WebhookUrl"):
        stack_from_template(moto.url, {**PARAMETERS, "WebhookUrl": "http://insecure.example.com"})
    with pytest.raises(ValueError, match="parameter BatchSize"):
        stack_from_template(moto.url, {**PARAMETERS, "BatchSize": 101})
    with pytest.raises(ValueError, match="no parameter Nope"):
        stack_from_template(moto.url, {**PARAMETERS, "Nope": "x"})


class Recording(Mapping[str, str]):
    """An environment that notes every name read from it."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values, self.read = dict(values), set[str]()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def handler_reads(function: str) -> set[str]:
    """Names the handler reads from os.environ itself, or through metrics.stack_metrics (Powertools' service,
    the metrics' namespace and the stack's name)."""
    source = (ROOT / "functions" / function / "app.py").read_text()
    if "stack_metrics()" in source:
        source += (ROOT / "layers" / "shared" / "auth0_webhooks" / "metrics.py").read_text()
    return set(re.findall(r"os\.environ(?:\.get\(|\[)\s*[\"']([A-Z0-9_]+)[\"']", source))


@pytest.mark.parametrize("function", sorted(SETTINGS_READERS))
def test_the_template_sets_exactly_the_settings_the_code_reads(template_stack, function):
    template = template_stack.environ_for(function)
    environ = Recording(template)

    SETTINGS_READERS[function](environ)  # raises ConfigError if a setting is missing or wrong

    given_as_arn = {name.removesuffix("_ARN") for name in template if name.endswith("_ARN")}
    read = environ.read | handler_reads(function)
    assert read - set(template) - given_as_arn == set(LEFT_TO_DEFAULTS[function]), "read but not set"
    assert set(template) - read == set(), "set but never read"


# -- the alarms watch what the code emits -------------------------------------------------------------------


def run_handler(function: str, environ: Mapping[str, str], event: str) -> list[dict[str, Any]]:
    """Run a handler in a fresh interpreter (a cold container) and return the EMF blobs it printed."""
    code = (
        "import json, sys; from devkit.lambda_context import LambdaContext;"
        f"from functions.{function}.app import lambda_handler;"
        "lambda_handler(json.load(open(sys.argv[1])), LambdaContext(30))"
    )
    env = {**os.environ, **environ}
    done = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "events" / event)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line]


def emitted(blobs: list[dict[str, Any]]) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(namespace, metric, dimensions) of every EMF metric printed."""
    found = set()
    for blob in blobs:
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = tuple(sorted((name, blob[name]) for name in dimension_set))
                for metric in directive["Metrics"]:
                    found.add((directive["Namespace"], metric["Name"], dimensions))
    return found


def watched(stack: TemplateStack) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(namespace, metric, dimensions) of every custom metric the alarms and the dashboard use."""
    found = set()
    for resource in RESOURCES.values():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            alarm = {
                key: stack.resolve(resource["Properties"][key]) for key in ("Namespace", "MetricName", "Dimensions")
            }
            if not alarm["Namespace"].startswith("AWS/"):
                dimensions = tuple(sorted((d["Name"], d["Value"]) for d in alarm["Dimensions"]))
                found.add((alarm["Namespace"], alarm["MetricName"], dimensions))
    body = json.loads(stack.resolve(RESOURCES["Dashboard"]["Properties"]["DashboardBody"]))
    for widget in body["widgets"]:
        for metric in widget["properties"].get("metrics", []):
            names = [part for part in metric if isinstance(part, str)]
            if not names[0].startswith("AWS/"):
                pairs = list(zip(names[2::2], names[3::2], strict=True))
                found.add((names[0], names[1], tuple(sorted(pairs))))
    return found


def test_the_alarms_and_dashboard_watch_metrics_the_functions_emit(template_stack):
    receiver = WebhookReceiver(secret=SIGNING_SECRET, authorization=AUTHORIZATION)
    with LocalTenant() as tenant, receiver as webhook:
        tenant.add(LogFactory(seed=5).many(20))
        poller = {**template_stack.environ_for("poller"), "AUTH0_DOMAIN": tenant.url}
        deliverer = {**template_stack.environ_for("deliverer"), "WEBHOOK_URL": f"{webhook.url}/auth0", **LOCAL_SETTINGS}
        produced = emitted(run_handler("poller", poller, "scheduled.json"))
        produced |= emitted(run_handler("deliverer", deliverer, "sqs-batch.json"))

    stack = (("stack", template_stack.name),)
    assert ("Auth0Webhooks", "LagSeconds", stack) in produced
    assert ("Auth0Webhooks", "Progress", stack) in produced
    assert ("Auth0Webhooks", "LogsDelivered", stack) in produced
    # each (name, dimensions) is a custom metric billed every month (README: Cost): one dimension, the
    # stack, and only the few that the alarms and the dashboard use
    assert {dimensions for _, _, dimensions in produced} == {stack}
    assert {name for _, name, _ in produced} == {"Progress", "LagSeconds", "LogsDelivered", "DeliveryLatency"}
    assert {name for _, name, _ in produced} | OCCASIONAL == PUBLISHED
    occasional = {("Auth0Webhooks", name, stack) for name in OCCASIONAL}
    missing = watched(template_stack) - produced - occasional
    assert not missing, f"alarms or dashboard widgets watch metrics nobody emits: {sorted(missing)}"
