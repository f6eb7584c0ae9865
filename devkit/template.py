"""template.yaml's own resources on moto, and the environment each function would get.

:func:`stack_from_template` reads the SAM template, resolves its parameters (defaults, or the
values given, checked against the template's constraints as CloudFormation would), then
creates on a moto server the resources the functions use, from the template's own
properties: the SQS queues (visibility timeout, sizes, retention, encryption, redrive policy),
the DynamoDB table (key schema, billing, encryption, point-in-time recovery) and the Secrets
Manager secrets whose conditions hold. Functions, roles, alarms and the rest are not created;
their settings are read from the template. ::

    with MotoServer() as moto:
        stack = stack_from_template(moto.url, {"Auth0Domain": "example.eu.auth0.com", ...})
        os.environ.update({**moto.environ(), **stack.environ_for("poller")})

The result is a :class:`devkit.aws.Stack` (``table``, ``queue_url``, ``dead_letter_queue_url``,
``drain``…) that also knows the template: ``environ_for(function)``, ``functions`` and
``resolve(value)`` for any other part of it. A local run then points the settings at local
stand-ins the template rightly refuses (http:// URLs), leaving everything else as deployed::

    stack = stack_from_template(moto.url, {..., "SlackIncomingWebhookUrl": "https://127.0.0.1:9/x"})
    stack.set_secret("SecretSlackIncomingWebhookUrl", slack.url)  # the secret now names a local Slack
    poller = {**stack.environ_for("poller"), "AUTH0_DOMAIN": tenant.url}
    deliverer = {**stack.environ_for("deliverer"), "WEBHOOK_URL": webhook.url, "ALLOW_INSECURE_WEBHOOK": "true"}

(Over 300 lines for one idea: reading the template takes a small resolver of CloudFormation's
intrinsic functions, which only this module uses.)
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .aws import REGION, Stack

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"
ACCOUNT = "123456789012"  # moto's account
SHORT_TAGS = ("Ref", "Condition")  # !Ref x -> {"Ref": x}; every other tag !X -> {"Fn::X": ...}
FUNCTION_TAGS = (
    *("GetAtt", "Sub", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split", "FindInMap"),
    *("Base64", "GetAZs", "ImportValue", "Cidr"),
)
QUEUE_ATTRIBUTES = (  # CloudFormation properties of AWS::SQS::Queue that are also SQS queue attributes
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
    "RedrivePolicy",
)


class NoValue:
    """``AWS::NoValue``: the property or list item is left out."""


NO_VALUE = NoValue()


# -- reading the template ---------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags turned into their long form (``!Ref x`` -> ``{"Ref": "x"}``)."""


def _tag(name: str) -> Any:
    key = name if name in SHORT_TAGS else f"Fn::{name}"

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if name == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return construct


for _name in SHORT_TAGS + FUNCTION_TAGS:
    _CfnLoader.add_constructor(f"!{_name}", _tag(_name))


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain data, intrinsic functions in their long form."""
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)  # a SafeLoader subclass
    return loaded


def parameter_values(template: Mapping[str, Any], given: Mapping[str, str | int]) -> dict[str, str]:
    """Every parameter's value (given, else its default), checked as CloudFormation checks them."""
    declared: dict[str, Any] = template.get("Parameters", {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ValueError(f"the template has no parameter {unknown[0]}")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in given:
            value = str(given[name])
        elif "Default" in spec:
            value = str(spec["Default"])
        else:
            raise ValueError(f"parameter {name} has no default: give it a value")
        problem = _violation(spec, value)
        if problem:
            raise ValueError(f"parameter {name}: {problem}")
        values[name] = value
    return values


def _violation(spec: Mapping[str, Any], value: str) -> str | None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(a) for a in allowed]:
        return f"{value!r} is not one of {allowed}"
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(pattern, value):
        return f"{value!r} does not match {pattern} ({spec.get('ConstraintDescription', '')})"
    if len(value) < int(spec.get("MinLength", 0)):
        return f"shorter than {spec['MinLength']} characters"
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return f"{value!r} is not a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"{value} is below {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"{value} is above {spec['MaxValue']}"
    return None


# -- the stack ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    """One function of the template as SAM would deploy it (Globals merged in)."""

    logical_id: str
    name: str  # the folder under functions/: poller, deliverer, alerter
    code_uri: Path
    handler: str  # module.function, relative to code_uri
    properties: dict[str, Any]  # as written, with Globals merged; resolve with TemplateStack.resolve


LAYERS_MOUNT = "/opt/"  # where Lambda unpacks a function's layers


@dataclass
class TemplateStack(Stack):
    """A :class:`Stack` made from template.yaml; knows each function's environment."""

    name: str = ""
    template_path: Path = TEMPLATE
    template: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    conditions: dict[str, bool] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)  # by name (poller, deliverer, alerter)
    physical_ids: dict[str, str] = field(default_factory=dict)  # logical id -> what !Ref gives
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)  # logical id -> what !GetAtt gives

    def environ_for(self, function: str) -> dict[str, str]:
        """The environment variables the function gets (without those Lambda itself sets)."""
        if function not in self.functions:
            raise KeyError(f"no function {function!r} with these parameters; there are {sorted(self.functions)}")
        variables = self.functions[function].properties.get("Environment", {}).get("Variables", {})
        resolved = {name: self.resolve(value) for name, value in variables.items()}
        return {name: self._mounted(function, str(value)) for name, value in resolved.items() if value is not NO_VALUE}

    def _mounted(self, function: str, value: str) -> str:
        """A path under /opt, where Lambda mounts the function's layers, as the local file it comes from
        (a plain-files layer's ContentUri); any other value as it is."""
        if not value.startswith(LAYERS_MOUNT):
            return value
        defaults = self.template.get("Globals", {}).get("Function", {}).get("Layers", [])
        for layer in [*defaults, *self.functions[function].properties.get("Layers", [])]:
            resource = self.template["Resources"].get(layer.get("Ref", "") if isinstance(layer, dict) else "", {})
            local = self.template_path.parent / str(resource.get("Properties", {}).get("ContentUri", "")).strip("/")
            candidate = local / value.removeprefix(LAYERS_MOUNT)
            if candidate.is_file():
                return str(candidate)
        return value

    def set_secret(self, logical_id: str, value: str) -> None:
        """Change a secret's value, as ``aws secretsmanager put-secret-value`` would (e.g. to a local URL)."""
        self.client("secretsmanager").put_secret_value(SecretId=self.physical_ids[logical_id], SecretString=value)

    def resolve(self, value: Any) -> Any:
        """A template value with its intrinsic functions worked out (``NO_VALUE`` for ``AWS::NoValue``)."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key == "Condition":
                return self.conditions[argument]
            if key.startswith("Fn::"):
                return self._function(key[4:], argument)
        resolved = {name: self.resolve(item) for name, item in value.items()}
        return {name: item for name, item in resolved.items() if item is not NO_VALUE}

    def resource(self, logical_id: str) -> dict[str, Any]:
        resource: dict[str, Any] = self.template["Resources"][logical_id]
        return resource

    def exists(self, logical_id: str) -> bool:
        """Whether the resource would be created with these parameters (its Condition holds)."""
        condition = self.resource(logical_id).get("Condition")
        return condition is None or self.conditions[condition]

    # -- intrinsic functions ------------------------------------------------------------------------

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::NoValue": NO_VALUE,
            "AWS::StackName": self.name,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical_ids:
            return self.physical_ids[name]
        kind = self.resource(name)["Type"]
        if kind == "AWS::Serverless::Function":
            return self.resolve(self.resource(name)["Properties"]["FunctionName"])
        raise NotImplementedError(f"!Ref {name} ({kind}): not created on moto")

    def _get_att(self, logical_id: str, attribute: str) -> str:
        if attribute in self.attributes.get(logical_id, {}):
            return self.attributes[logical_id][attribute]
        resource = self.resource(logical_id)
        if resource["Type"] == "AWS::Logs::LogGroup" and attribute == "Arn":  # named, so known before it exists
            group = self.resolve(resource["Properties"]["LogGroupName"])
            return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"
        if resource["Type"] == "AWS::CloudWatch::Alarm" and attribute == "Arn":
            alarm = self.resolve(resource["Properties"]["AlarmName"])
            return f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm}"
        raise NotImplementedError(f"!GetAtt {logical_id}.{attribute}: not created on moto")

    def _function(self, name: str, argument: Any) -> Any:
        if name == "GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
            return self._get_att(logical_id, attribute)
        if name == "Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return self._sub(text, {key: self.resolve(v) for key, v in variables.items()})
        if name == "If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.conditions[condition] else when_false)
        if name == "Equals":
            left, right = (self.resolve(item) for item in argument)
            return str(left) == str(right)
        if name == "Not":
            return not self.resolve(argument[0])
        if name == "And":
            return all(self.resolve(item) for item in argument)
        if name == "Or":
            return any(self.resolve(item) for item in argument)
        if name == "Split":
            separator, text = argument
            return str(self.resolve(text)).split(str(separator))
        if name == "Join":
            separator, items = argument
            return str(separator).join(str(item) for item in self.resolve(items))
        raise NotImplementedError(f"Fn::{name} is not supported by devkit.template")

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self._get_att(logical_id, attribute)
            return str(self._ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)


def stack_from_template(
    endpoint: str,
    parameters: Mapping[str, str | int] | None = None,
    template_path: Path = TEMPLATE,
    stack_name: str | None = None,
) -> TemplateStack:
    """Create the template's queues, table and secrets on moto at ``endpoint``, under a fresh stack name."""
    template = load_template(template_path)
    stack = TemplateStack(
        table="",
        queue_url="",
        dead_letter_queue_url="",
        endpoint=endpoint,
        name=stack_name or f"auth0-webhooks-{uuid.uuid4().hex[:8]}",
        template_path=template_path,
        template=template,
        parameters=parameter_values(template, parameters or {}),
    )
    for name, expression in template.get("Conditions", {}).items():
        stack.conditions[name] = bool(stack.resolve(expression))
    for logical_id in template["Resources"]:
        _create(stack, logical_id)
    stack.functions = _functions(stack)
    poller = stack.environ_for("poller")
    stack.table, stack.queue_url = poller["CHECKPOINT_TABLE"], poller["QUEUE_URL"]
    stack.dead_letter_queue_url = poller["DEAD_LETTER_QUEUE_URL"]
    return stack


def _create(stack: TemplateStack, logical_id: str) -> None:
    """Create one resource (and first what it refers to) if moto should have it and it is not there yet."""
    if logical_id in stack.physical_ids or not stack.exists(logical_id):
        return
    resource = stack.resource(logical_id)
    for other in _references(resource.get("Properties", {})):
        if other in stack.template["Resources"] and other != logical_id:
            _create(stack, other)
    kind, properties = resource["Type"], resource.get("Properties", {})
    physical_name = f"{stack.name}-{logical_id}"
    if kind == "AWS::SQS::Queue":
        _create_queue(stack, logical_id, physical_name, stack.resolve(properties))
    elif kind == "AWS::DynamoDB::Table":
        _create_table(stack, logical_id, physical_name, stack.resolve(properties))
    elif kind == "AWS::SecretsManager::Secret":
        resolved = stack.resolve(properties)
        created = stack.client("secretsmanager").create_secret(
            Name=resolved.get("Name", physical_name),
            SecretString=resolved["SecretString"],
            Description=resolved.get("Description", ""),
        )
        stack.physical_ids[logical_id] = created["ARN"]
        stack.attributes[logical_id] = {"Id": created["ARN"]}


def _create_queue(stack: TemplateStack, logical_id: str, name: str, properties: dict[str, Any]) -> None:
    attributes = {key: properties[key] for key in QUEUE_ATTRIBUTES if key in properties}
    if "RedrivePolicy" in attributes:
        attributes["RedrivePolicy"] = json.dumps(attributes["RedrivePolicy"])
    attributes = {
        key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in attributes.items()
    }
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName=properties.get("QueueName", name), Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.physical_ids[logical_id] = url
    stack.attributes[logical_id] = {"Arn": arn, "QueueName": arn.rsplit(":", 1)[1], "QueueUrl": url}


def _create_table(stack: TemplateStack, logical_id: str, name: str, properties: dict[str, Any]) -> None:
    ddb = stack.client("dynamodb")
    table = properties.get("TableName", name)
    arguments: dict[str, Any] = {
        "TableName": table,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    if "ProvisionedThroughput" in properties:
        arguments["ProvisionedThroughput"] = {k: int(v) for k, v in properties["ProvisionedThroughput"].items()}
    if "SSESpecification" in properties:
        arguments["SSESpecification"] = {"Enabled": bool(properties["SSESpecification"].get("SSEEnabled"))}
    arn = ddb.create_table(**arguments)["TableDescription"]["TableArn"]
    recovery = properties.get("PointInTimeRecoverySpecification", {})
    if recovery.get("PointInTimeRecoveryEnabled"):
        ddb.update_continuous_backups(
            TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    stack.physical_ids[logical_id] = table
    stack.attributes[logical_id] = {"Arn": arn}


def _references(value: Any) -> set[str]:
    """Logical ids a value refers to through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else str(item).split(".", 1)[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                found |= {name.split(".", 1)[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= _references(item[1] if isinstance(item, list) else None)
            else:
                found |= _references(item)
    return found


def _functions(stack: TemplateStack) -> dict[str, Function]:
    """The template's functions that exist with these parameters, with SAM's Globals merged in."""
    defaults: dict[str, Any] = stack.template.get("Globals", {}).get("Function", {})
    root = stack.template_path.parent
    functions: dict[str, Function] = {}
    for logical_id, resource in stack.template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function" or not stack.exists(logical_id):
            continue
        properties = {**defaults, **resource["Properties"]}
        variables = {
            **defaults.get("Environment", {}).get("Variables", {}),
            **resource["Properties"].get("Environment", {}).get("Variables", {}),
        }
        properties["Environment"] = {"Variables": variables}
        code_uri = root / str(properties["CodeUri"])
        functions[code_uri.name] = Function(logical_id, code_uri.name, code_uri, properties["Handler"], properties)
    return functions
