"""Each function's role allows exactly the AWS calls its code makes, on exactly the resources it uses.

The functions run through scenarios that make every call they can make, with boto3 pointed at
a FaultProxy in front of moto; the proxy's record of requests gives the calls (JSON protocol:
``X-Amz-Target`` names the operation, the body names the queue, table or secret). They are
mapped to IAM actions and compared with the role's statements in template.yaml.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.utils import parseaddr
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from auth0_webhooks.dead_letters import ROUTE

from devkit.event_source import SqsEventSource
from devkit.lambda_context import LambdaContext
from devkit.logs import LogFactory
from devkit.proxy import FaultProxy
from devkit.receivers import SlackReceiver, WebhookReceiver
from devkit.template import TemplateStack, stack_from_template
from devkit.tenant import LocalTenant
from tests.conftest import load_event
from tests.integration.conftest import AUTHORIZATION, LOCAL_SETTINGS, PARAMETERS, SIGNING_SECRET, use_environ
from tests.notify_samples import log

Grant = tuple[str, str]  # (IAM action, resource ARN)
STATEMENT_KEYS = {"Sid", "Effect", "Action", "Resource", "Condition"}
SES_SEND_PATH = "/v2/email/outbound-emails"
NOTIFY_SENDER = "security@acme.test"

SERVICES = {"AmazonSQS": "sqs", "DynamoDB_20120810": "dynamodb", "secretsmanager": "secretsmanager", "AmazonSSM": "ssm"}
# The only wildcards a role may hold: the secrets and parameters under the stack's own prefix, which a
# routes file names (the routes check refuses any other); {stack} is the stack's name.
PREFIXED = {
    "RouteSecrets": "arn:aws:secretsmanager:us-east-1:123456789012:secret:{stack}/*",
    "RouteParameters": "arn:aws:ssm:us-east-1:123456789012:parameter/{stack}/*",
}
# API operations authorised by another action's name (the batch calls), per the service authorization reference.
IAM_ACTION = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
# What Lambda's SQS event source mapping calls with the deliverer's role (not the code): allowed, never seen here.
EVENT_SOURCE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
LAMBDA_INVOKE = "/2015-03-31/functions/"  # Invoke's path: /2015-03-31/functions/{FunctionName}/invocations
RUNTIME_LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]  # Lambda writes the function's logs


@pytest.fixture
def proxy(moto, monkeypatch, cold_powertools) -> Iterator[FaultProxy]:
    """Every AWS call the code makes goes through this proxy (set-up and checks go to moto directly)."""
    with FaultProxy(moto.url) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
        yield server


def calls(proxy: FaultProxy, stack: TemplateStack) -> set[Grant]:
    """The (IAM action, resource ARN) of every request that went through the proxy."""
    arns = {
        physical: stack.attributes[logical].get("Arn", physical) for logical, physical in stack.physical_ids.items()
    }
    found = set()
    for request in proxy.seen:
        if request.path.startswith(LAMBDA_INVOKE):  # Lambda's REST protocol: the function is in the path
            function = unquote(request.path.removeprefix(LAMBDA_INVOKE).split("/", 1)[0])
            found.add(("lambda:InvokeFunction", function))
            continue
        if request.path.startswith(SES_SEND_PATH):  # SES v2 speaks REST: the sender names the identity
            sender = json.loads(request.body)["FromEmailAddress"]
            found.add(("ses:SendEmail", ses_identity(parseaddr(sender)[1])))
            continue
        target = request.headers.get("x-amz-target")
        assert target, f"a request without X-Amz-Target (not the JSON protocol): {request.method} {request.path}"
        prefix, operation = target.split(".", 1)
        body: dict[str, Any] = json.loads(request.body or b"{}")
        named = str(body.get("QueueUrl") or body.get("TableName") or body.get("SecretId") or body.get("Name"))
        if named not in arns and prefix == "secretsmanager":  # a secret a routes file names
            arns[named] = stack.client("secretsmanager").describe_secret(SecretId=named)["ARN"]
        if named not in arns and prefix == "AmazonSSM":
            arns[named] = f"arn:aws:ssm:us-east-1:123456789012:parameter{named}"
        assert named in arns, f"{target} on {named}, which is not a resource of the stack"
        found.add((f"{SERVICES[prefix]}:{IAM_ACTION.get(operation, operation)}", arns[named]))
    return found


def grants(stack: TemplateStack, function: str) -> tuple[set[Grant], list[dict[str, Any]]]:
    """What the function's role allows: (action, resource) pairs, and the runtime's logs statements apart."""
    properties = stack.functions[function].properties
    assert "Policies" not in properties, "SAM would add to its own role; the template gives each function a role"
    role_id = properties["Role"]["Fn::GetAtt"][0]
    role = stack.resource(role_id)["Properties"]
    assert not role.get("ManagedPolicyArns") and not role.get("PermissionsBoundary")
    pairs: set[Grant] = set()
    logs = []
    for policy in stack.resolve(role["Policies"]):
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow" and set(statement) <= STATEMENT_KEYS
            if "Condition" in statement:  # only SES's: mail from the configured address, nothing else
                assert statement["Action"] == "ses:SendEmail", statement
                assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": NOTIFY_SENDER}}, statement
            actions, resources = _list(statement["Action"]), _list(statement["Resource"])
            if statement.get("Sid") == "Logs":
                logs.append({"actions": sorted(actions), "resources": resources})
                continue
            if statement.get("Sid") in PREFIXED:
                assert resources == [PREFIXED[statement["Sid"]].format(stack=stack.name)], statement
                assert "*" not in "".join(actions), statement
            else:
                assert "*" not in "".join(actions + resources), statement
            pairs |= {(action, resource) for action in actions for resource in resources}
    return pairs, logs


def ses_identity(name: str) -> str:
    return f"arn:aws:ses:us-east-1:123456789012:identity/{name}"


def _list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def assert_exact(stack: TemplateStack, function: str, made: set[Grant], allowed_beyond: set[Grant] | None = None):
    allowed, logs = grants(stack, function)
    log_group = f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{stack.name}-{function}:*"
    assert logs == [{"actions": RUNTIME_LOG_ACTIONS, "resources": [log_group]}]
    prefixed = {(action, arn) for action, arn in allowed if arn.endswith("/*")}
    by_prefix = {(a, arn) for a, arn in made for p_action, p in prefixed if a == p_action and fnmatch(arn, p)}
    assert made - allowed - by_prefix == set(), "calls the role does not allow"
    used = {(a, p) for a, p in prefixed if any(a == b and fnmatch(arn, p) for b, arn in made)}
    assert allowed - made - used - (allowed_beyond or set()) == set(), "allowed but never called"


ROUTES_WITH_KEYS = """
routes:
  - id: siem
    pii: {{hash: [email], hash_key_secret: {stack}/siem-hash-key}}
    destination: {{type: webhook, url: "https://siem.example/in"}}
  - id: events
    pii: {{hash: [ip], hash_key_secret: /{stack}/events-hash-key}}
    destination: {{type: eventbridge, bus: auth0-logs}}
"""


def test_the_poller_role_allows_exactly_its_calls(template_stack, proxy, monkeypatch):
    factory = LogFactory(seed=21)
    logs = factory.many(30)
    with LocalTenant() as tenant:
        tenant.add(logs)
        tenant.add([{"date": logs[3]["date"], "type": "s"}], keys=[logs[3]["log_id"] + "5"])  # no id: dead-lettered
        use_environ(monkeypatch, template_stack, "poller", AUTH0_DOMAIN=tenant.url)
        from functions.poller.app import lambda_handler

        result = lambda_handler(load_event("scheduled.json"), LambdaContext(60))

    assert (result["enqueued"], result["dead_lettered"]) == (30, 1)
    poller_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{template_stack.name}-poller"
    with LocalTenant(latency=0.3) as tenant:  # a backlog the run cannot finish: it hands on to the next run
        tenant.add(factory.many(3000))
        use_environ(monkeypatch, template_stack, "poller", AUTH0_DOMAIN=tenant.url)
        context = LambdaContext(4.5, function_name=f"{template_stack.name}-poller")
        assert context.invoked_function_arn == poller_arn
        handed = lambda_handler(load_event("scheduled.json"), context)
    assert handed["stopped"] == "out-of-time" and handed["backlog"]
    made = calls(proxy, template_stack)
    secrets = {template_stack.physical_ids[s] for s in ("SecretAuth0ClientSecret", "SecretSlackIncomingWebhookUrl")}
    assert {resource for action, resource in made if action == "secretsmanager:GetSecretValue"} == secrets
    allowed, _ = grants(template_stack, "poller")
    route_secrets = {(action, arn) for action, arn in allowed if arn.endswith("/*")}
    assert_exact(template_stack, "poller", made, allowed_beyond=route_secrets)  # no routes file: none read


def test_the_poller_may_read_the_route_secrets_under_the_stack_prefix(template_stack, proxy, monkeypatch, tmp_path):
    stack = template_stack.name
    template_stack.client("secretsmanager").create_secret(Name=f"{stack}/siem-hash-key", SecretString="k1")
    template_stack.client("ssm").put_parameter(Name=f"/{stack}/events-hash-key", Value="k2", Type="SecureString")
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES_WITH_KEYS.format(stack=stack))
    logs = LogFactory(seed=23).many(5)
    with LocalTenant() as tenant:
        tenant.add(logs)
        use_environ(monkeypatch, template_stack, "poller", AUTH0_DOMAIN=tenant.url, ROUTES_FILE=str(routes))
        from functions.poller.app import lambda_handler

        result = lambda_handler(load_event("scheduled.json"), LambdaContext(60))

    assert result["routed"] == {"siem": 5, "events": 5}
    made = calls(proxy, template_stack)
    assert ("ssm:GetParameter", f"arn:aws:ssm:us-east-1:123456789012:parameter/{stack}/events-hash-key") in made
    # the test above calls these: a dead letter, and handing a run with a backlog on to the next
    beyond = {
        ("sqs:SendMessage", template_stack.attributes["DeadLetterQueue"]["Arn"]),
        *((action, arn) for action, arn in grants(template_stack, "poller")[0] if action == "lambda:InvokeFunction"),
    }
    assert_exact(template_stack, "poller", made, allowed_beyond=beyond)  # both prefixed statements used


def test_the_deliverer_role_allows_exactly_its_calls_and_the_event_source_s(template_stack, proxy, monkeypatch):
    logs = LogFactory(seed=22).many(5)
    retried_in_part, retried_whole, refused = logs[1]["log_id"], logs[3]["log_id"], logs[4]["log_id"]
    sqs = template_stack.client("sqs")  # moto itself: Lambda's event source, not the code
    for body in ([logs[0], logs[1], logs[2]], [logs[3]], [logs[4]]):
        sqs.send_message(QueueUrl=template_stack.queue_url, MessageBody=json.dumps(body))
    with WebhookReceiver(secret=SIGNING_SECRET, authorization=AUTHORIZATION) as webhook, SlackReceiver() as slack:
        webhook.failures.log_ids = {retried_in_part: 503, retried_whole: 503, refused: 400}
        template_stack.set_secret("SecretSlackIncomingWebhookUrl", f"{slack.url}/services/T0/B0/x")
        use_environ(monkeypatch, template_stack, "deliverer", WEBHOOK_URL=f"{webhook.url}/auth0", SEND_AS_BATCH="false")
        monkeypatch.setenv("ALLOW_INSECURE_WEBHOOK", LOCAL_SETTINGS["ALLOW_INSECURE_WEBHOOK"])
        from functions.deliverer.app import lambda_handler

        handed, failed = SqsEventSource(sqs, template_stack.queue_url).poll_once(lambda_handler)

    assert (handed, failed) == (3, 1)  # the single-log message failed whole; the others were settled
    assert webhook.delivered_ids == sorted([logs[0]["log_id"], logs[2]["log_id"]])
    assert slack.titles() == ["Webhook delivery failed"]  # the refused log
    made = calls(proxy, template_stack)
    queue, dlq = (template_stack.attributes[q]["Arn"] for q in ("Queue", "DeadLetterQueue"))
    assert {
        ("sqs:SendMessage", queue),  # the log that failed alone in its message, queued again
        ("sqs:ChangeMessageVisibility", queue),  # the backoff of the message that failed whole
        ("sqs:SendMessage", dlq),  # the refused log
    } <= made
    event_source = {(action, queue) for action in EVENT_SOURCE_ACTIONS}
    [event] = template_stack.functions["deliverer"].properties["Events"].values()
    assert event["Type"] == "SQS" and template_stack.resolve(event["Properties"]["Queue"]) == queue
    allowed, _ = grants(template_stack, "deliverer")
    route_secrets = {(action, arn) for action, arn in allowed if arn.endswith("/*")}  # no routes file: none read
    assert_exact(template_stack, "deliverer", made, allowed_beyond=event_source | route_secrets)


def test_the_alerter_role_allows_exactly_its_calls(template_stack, proxy, monkeypatch):
    with SlackReceiver() as slack:
        template_stack.set_secret("SecretSlackIncomingWebhookUrl", f"{slack.url}/services/T0/B0/x")
        use_environ(monkeypatch, template_stack, "alerter")
        from functions.alerter.app import lambda_handler

        event, context = load_event("alarm-sns.json"), LambdaContext(10)
        assert lambda_handler(event, context) == {"posted": 1, "skipped": 0}  # type: ignore[arg-type]

    made = calls(proxy, template_stack)
    assert made == {("secretsmanager:GetSecretValue", template_stack.physical_ids["SecretSlackIncomingWebhookUrl"])}
    assert_exact(template_stack, "alerter", made)


NOTIFY_ROUTES = """
routes:
  - id: pw
    destination: {type: email, template: password-changed, from: "Acme Security <security@acme.test>"}
"""


def test_the_deliverer_role_allows_exactly_the_notification_calls(moto, proxy, monkeypatch, tmp_path):
    stack = stack_from_template(
        moto.url, {**PARAMETERS, "Notifications": "true", "NotificationFromAddress": NOTIFY_SENDER}
    )
    stack.client("sesv2").create_email_identity(EmailIdentity=NOTIFY_SENDER)
    routes = tmp_path / "routes.yaml"
    routes.write_text(NOTIFY_ROUTES)
    sqs = stack.client("sqs")
    first, second = (log(log_id, "scp", user_id="auth0|ana") for log_id in ("9501", "9502"))
    sqs.send_message(QueueUrl=stack.queue_url, MessageBody=json.dumps([first, second]), MessageAttributes=route("pw"))
    with LocalTenant(scope="read:logs read:users") as tenant, SlackReceiver() as slack:
        tenant.add_users([{"user_id": "auth0|ana", "email": "ana@example.com", "email_verified": True, "name": "A"}])
        stack.set_secret("SecretSlackIncomingWebhookUrl", f"{slack.url}/services/T0/B0/x")
        use_environ(
            monkeypatch,
            stack,
            "deliverer",
            AUTH0_DOMAIN=tenant.url,
            ROUTES_FILE=str(routes),
            TEMPLATES_DIR=str(Path(__file__).resolve().parents[2] / "config" / "templates"),
        )
        from functions.deliverer.app import lambda_handler

        handed, failed = SqsEventSource(sqs, stack.queue_url).poll_once(lambda_handler)

    assert (handed, failed) == (1, 0)
    made = calls(proxy, stack)
    table = stack.attributes["CheckpointTable"]["Arn"]
    assert ("ses:SendEmail", ses_identity(NOTIFY_SENDER)) in made
    assert {("dynamodb:PutItem", table), ("dynamodb:UpdateItem", table)} <= made
    assert ("secretsmanager:GetSecretValue", stack.physical_ids["SecretAuth0ClientSecret"]) in made
    allowed, _ = grants(stack, "deliverer")
    queue, dlq = (stack.attributes[q]["Arn"] for q in ("Queue", "DeadLetterQueue"))
    beyond = {(action, queue) for action in EVENT_SOURCE_ACTIONS} | {
        ("sqs:SendMessage", queue),  # the tests above: retries, backoff, dead letters, the webhook's secrets
        ("sqs:ChangeMessageVisibility", queue),
        ("sqs:SendMessage", dlq),
        ("dynamodb:GetItem", table),  # the ledger's other paths: a record found, released
        ("dynamodb:DeleteItem", table),
        ("secretsmanager:GetSecretValue", stack.physical_ids["SecretWebhookAuthorization"]),
        ("secretsmanager:GetSecretValue", stack.physical_ids["SecretWebhookSecret"]),
        ("secretsmanager:GetSecretValue", stack.physical_ids["SecretSlackIncomingWebhookUrl"]),
    }
    route_secrets = {(action, arn) for action, arn in allowed if arn.endswith("/*")}
    assert_exact(stack, "deliverer", made, allowed_beyond=beyond | route_secrets)


def route(route_id: str) -> dict[str, Any]:
    return {ROUTE: {"DataType": "String", "StringValue": route_id}}
