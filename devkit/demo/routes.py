"""The demo's routes: ``config/routes.yaml``'s commented example, run against local receivers, and two e-mails.

The routes file the demo writes is the shipped example with its comment markers removed
(:func:`example`), and only what must point at this machine swapped (:func:`localized`): each
webhook's ``url`` becomes a local receiver's (with ``allow_insecure: true``, as ``http://`` needs).
With the local tenant, the notification routes of :mod:`.mail` follow the example's three: an
e-mail to the user for each changed password and blocked account, through SES on moto, whose
sender the demo verifies there.
The secrets keep the example's names: the demo's stack is named ``auth0-webhooks``, so they are
under its prefix, and it creates them on moto with fresh values. The EventBridge bus
``auth0-logs`` is made on moto with a rule sending every event to an SQS queue, where the
summary reads what arrived. With ``DEMO_FAULTS=1`` the security receiver answers 503 to every
request while the tenant produces, then comes back (:meth:`DemoRoutes.recover`): the route's breaker
pauses it, its logs wait without spending attempts, a probe finds the receiver back and the route
drains; the other two routes are not held up.

>>> text = "## a note\\n# routes:\\n#   - id: x   # a comment\\n#\\n"
>>> uncommented(text)
'routes:\\n  - id: x   # a comment\\n\\n'
"""

from __future__ import annotations

import contextlib
import copy
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..aws import Stack
from ..receivers import WebhookReceiver
from ..template import TemplateStack
from . import mail
from .config import ROOT, new_webhook_secret

EXAMPLE = ROOT / "config" / "routes.yaml"
STACK_NAME = "auth0-webhooks"  # the example's secrets are under this stack's prefix
SIEM, SECURITY, EVENTS = "siem", "security", "events"
DOWN_STATUS = 503  # what the security receiver answers while it is down (DEMO_FAULTS=1)
UNTIL_RECOVERED = 10**9  # requests the down receiver fails: all of them, until recover()


def uncommented(text: str) -> str:
    """The example's lines with their first ``# `` removed; ``##`` lines (the file's notes) left out."""
    lines = []
    for line in text.splitlines():
        if line.startswith("##"):
            continue
        lines.append(line[2:] if line.startswith("# ") else line.removeprefix("#"))
    return "\n".join(lines) + "\n"


def example() -> dict[str, Any]:
    """``config/routes.yaml``'s example, as parsed YAML."""
    data: dict[str, Any] = yaml.safe_load(uncommented(EXAMPLE.read_text(encoding="utf-8")))
    return data


def localized(data: dict[str, Any], urls: dict[str, str]) -> dict[str, Any]:
    """The routes with each webhook's ``url`` replaced by ``urls[route id]`` (``http://``, so ``allow_insecure``)."""
    local = copy.deepcopy(data)
    for route in local["routes"]:
        destination = route["destination"]
        if destination["type"] == "webhook":
            destination["url"] = urls[route["id"]]
            destination["allow_insecure"] = True
    return local


@dataclass
class DemoRoutes:
    """What the three routes deliver to, and the routes file the functions read."""

    path: Path
    data: dict[str, Any]
    receivers: dict[str, WebhookReceiver]  # by route id: the webhook routes'
    bus: str
    events_queue_url: str
    hash_key: str
    down: str | None  # the route whose receiver fails everything until recover() (DEMO_FAULTS=1)

    def recover(self, paused: Callable[[str], bool]) -> bool:
        """The down receiver answers again once ``paused(route id)`` says its route has paused; True once it does."""
        if not self.down:
            return True
        if not paused(self.down):
            return False
        receiver = self.receivers[self.down]
        with receiver.lock:
            receiver.failures.next = 0
        return True

    def where(self) -> dict[str, str]:
        """Where each route delivers, by route id, for the set-up lines and ``make local``."""
        found = {}
        for route in self.data["routes"]:
            destination = route["destination"]
            if destination["type"] == "webhook":
                found[route["id"]] = destination["url"]
            elif destination["type"] == "email":
                found[route["id"]] = f"e-mail ({destination['template']}) to the user, through SES on moto"
            else:
                found[route["id"]] = f"EventBridge bus {self.bus} on moto → rule → SQS {self.events_queue_url}"
        return found


@contextlib.contextmanager
def started_routes(
    stack: TemplateStack, directory: Path, faults: bool, seed: int, values: dict[str, str], notify: bool = False
) -> Iterator[DemoRoutes]:
    """Start the receivers, create the secrets (``values``, by name) and the bus on moto, write the routes
    file (with ``notify``, :mod:`.mail`'s routes too, their sender verified on moto); stop all at the end."""
    data = example()
    by_id = {route["id"]: route for route in data["routes"]}
    with contextlib.ExitStack() as exits:
        receivers: dict[str, WebhookReceiver] = {}
        for route_id, route in by_id.items():
            destination = route["destination"]
            if destination["type"] != "webhook":
                continue
            signing = destination.get("signing_secret")
            authorization = destination.get("authorization_secret")
            receiver = WebhookReceiver(
                secret=values[signing] if signing else None,
                authorization=values[authorization] if authorization else None,
                seed=seed,
            )
            receivers[route_id] = exits.enter_context(receiver)
        down = SECURITY if faults and SECURITY in receivers else None
        if down:
            receivers[down].failures.next, receivers[down].failures.status = UNTIL_RECOVERED, DOWN_STATUS
        urls = {route_id: f"{r.url}{_path(by_id[route_id]['destination']['url'])}" for route_id, r in receivers.items()}
        local = localized(data, urls)
        if notify:
            local["routes"] += mail.routes()
            mail.verify_sender(stack.client("sesv2"))
        _create_secrets(stack, values)
        bus = next(r["destination"]["bus"] for r in data["routes"] if r["destination"]["type"] == "eventbridge")
        queue_url = _bus_to_queue(stack, bus)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "routes.yaml"
        path.write_text(yaml.safe_dump(local, sort_keys=False))
        hash_ref = by_id[SIEM].get("pii", {}).get("hash_key_secret", "")
        yield DemoRoutes(path, local, receivers, bus, queue_url, values.get(hash_ref, ""), down)


def events_received(stack: Stack, queue_url: str) -> list[dict[str, Any]]:
    """The events the bus's rule put on the demo's queue (read, not removed)."""
    found = []
    for message in stack.receive_all(queue_url):
        with contextlib.suppress(ValueError):
            event = json.loads(message["Body"])
            if isinstance(event, dict):
                found.append(event)
    return found


def secret_values(data: dict[str, Any]) -> dict[str, str]:
    """A fresh value for every secret the routes name, by name (a whsec_ key for a signing secret)."""
    return {name: _secret_value(field) for name, field in _secret_refs(data)}


def siem_credentials(values: dict[str, str]) -> tuple[str, str]:
    """The siem route's (authorization, signing secret) values, as the example names them."""
    destination = next(r for r in example()["routes"] if r["id"] == SIEM)["destination"]
    return values[destination["authorization_secret"]], values[destination["signing_secret"]]


def _secret_refs(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(secret name, the field naming it) for every secret the routes name."""
    refs = []
    for route in data["routes"]:
        places = [route.get("pii", {}), route["destination"]]
        for place in places:
            refs += [(value, field) for field, value in place.items() if field.endswith("_secret")]
    return refs


def _secret_value(field: str) -> str:
    if field == "signing_secret":
        return new_webhook_secret()
    if field == "authorization_secret":
        return f"Bearer {secrets.token_urlsafe(24)}"
    return secrets.token_urlsafe(32)


def _create_secrets(stack: TemplateStack, values: dict[str, str]) -> None:
    for name, value in values.items():
        if name.startswith("/"):
            stack.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
        else:
            stack.client("secretsmanager").create_secret(Name=name, SecretString=value)


def _bus_to_queue(stack: TemplateStack, bus: str) -> str:
    """The bus, and a rule sending all its events (source auth0-webhooks) to a new SQS queue."""
    events, sqs = stack.client("events"), stack.client("sqs")
    events.create_event_bus(Name=bus)
    queue_url = sqs.create_queue(QueueName=f"{bus}-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"{bus}-to-sqs", EventBusName=bus, EventPattern=json.dumps({"source": ["auth0-webhooks"]}))
    events.put_targets(Rule=f"{bus}-to-sqs", EventBusName=bus, Targets=[{"Id": "demo-queue", "Arn": arn}])
    return str(queue_url)


def _path(url: str) -> str:
    """The example URL's path, kept on the local receiver's address (``/ingest/auth0``)."""
    return "/" + url.split("://", 1)[-1].split("/", 1)[-1] if url.count("/") > 2 else ""
