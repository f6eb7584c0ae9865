"""What arrived where, as plain data: the demo's summary (also written to summary.json)."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, NamedTuple

from ..aws import Stack
from ..latency import Sample, measured, on_schedule
from . import mail
from .arrivals import route_arrivals
from .config import DEPLOYED_SCHEDULE_SECONDS, STATUS_WHILE_PAUSED, DemoConfig
from .parts import Parts
from .pipeline import Pipeline, drained
from .routes import DemoRoutes
from .stream import LogStream
from .tally import Tally

DELIVERER_COUNTS = ("delivered", "retried", "dead_lettered", "held")  # what the routes' delivery records keep
NOT_COUNTS = ("checkpoint", "stopped", "latencies", "last_log_id", "newest_log_date", "lag_seconds")


def summarize(
    config: DemoConfig, parts: Parts, tally: Tally, pipeline: Pipeline, samples: Sequence[Sample]
) -> dict[str, Any]:
    """What arrived where, as plain data (also written to summary.json)."""
    from auth0_webhooks.filters import LogFilter
    from auth0_webhooks.settings import PollerSettings

    report: dict[str, Any] = {"seconds": config.seconds, "faults": config.faults}
    if unread := tally.refresh():
        tally.error("demo", unread)
    with tally.lock:
        poller = {k: v for k, v in asdict(tally.poller).items() if k not in NOT_COUNTS}
        report["poller"] = {"runs": tally.poller_runs, **poller, "stopped": dict(tally.stopped)}
        deliverer = {k: v for k, v in asdict(tally.deliverer).items() if k in DELIVERER_COUNTS}
        report["deliverer"] = {"invocations": tally.invocations, **deliverer}
        report["errors"] = dict(tally.errors)
    report["in_sqs"] = pipeline.in_sqs()
    report["drained"] = drained(pipeline)
    try:
        dead, point = dead_letters(parts.stack), checkpoint(parts.stack, os.environ["AUTH0_DOMAIN"])
    except Exception as error:  # moto is gone (stopped from outside): report what the demo saw itself
        dead, point = [], {}
        report["errors"][f"demo: could not read the queues and table ({type(error).__name__})"] = 1
    report["dead_letter_queue"] = {
        "messages": len(dead),
        "logs": sum(len(letter.ids) for letter in dead),
        "by_reason": _by_reason(dead),
        "by_route": dict(Counter(letter.route for letter in dead for _ in letter.ids)),
    }
    if parts.tenant and parts.stream:
        stats = parts.tenant.stats
        report["tenant"] = {
            "produced": len(parts.stream.produced),
            "log_requests": stats.log_requests,
            "answered_429": stats.answered_429,
            "token_requests": stats.token_requests,
            "poison": len(parts.stream.poison),
        }
    if parts.routes and parts.stream:
        by_route: dict[str, set[str]] = {}
        for letter in dead:
            by_route.setdefault(letter.route, set()).update(letter.ids)
        report["routes"] = route_arrivals(parts.routes, parts.stack, parts.stream.produced, by_route)
        report["kept"] = sum(route["expected"] for route in report["routes"].values())
        report["missing"] = [f"{name}:{i}" for name, route in report["routes"].items() for i in route["missing"]]
        if any(route["destination"]["type"] == "email" for route in parts.routes.data["routes"]):
            report["mail"] = mail_part(config, parts, parts.routes, parts.stream, by_route)
            report["kept"] += sum(route["matched"] for route in report["mail"]["routes"].values())
            report["missing"] += [f"{n}:{i}" for n, route in report["mail"]["routes"].items() for i in route["missing"]]
    elif parts.webhook:
        with parts.webhook.lock:
            deliveries = list(parts.webhook.deliveries)
        ok = [d for d in deliveries if 200 <= d.status < 300]
        delivered = Counter(i for d in ok for i in d.log_ids)
        report["webhook"] = {
            "requests": len(deliveries),
            "accepted": len(ok),
            "verified": sum(1 for d in deliveries if d.verified),
            "refused": dict(Counter(str(d.status) for d in deliveries if not 200 <= d.status < 300)),
            "logs": len(delivered),
            "duplicates": sum(delivered.values()) - len(delivered),
        }
        if parts.stream:
            settings = PollerSettings.from_env()
            keep = LogFilter(settings.log_types, settings.min_log_level, settings.api_endpoints)
            expected = [e["log_id"] for e in parts.stream.produced if keep(e)]
            in_dlq = {i for letter in dead for i in letter.ids}
            report["kept"] = len(expected)
            report["missing"] = [i for i in expected if i not in delivered and i not in in_dlq]
    if parts.slack:
        with parts.slack.lock:
            payloads = list(parts.slack.payloads)
        report["slack"] = dict(Counter(p["attachments"][0]["fallback"] for p in payloads))
    report["checkpoint"] = point
    status_file = config.directory / STATUS_WHILE_PAUSED
    if status_file.exists():
        report["status_while_paused"] = {"file": str(status_file), "text": status_file.read_text()}
    if samples:
        report["latency"] = {
            "measured": asdict(measured(samples)),
            "schedule_seconds": config.poll_every,
            "default_schedule": asdict(on_schedule(samples, DEPLOYED_SCHEDULE_SECONDS)),
            "default_schedule_seconds": DEPLOYED_SCHEDULE_SECONDS,
        }
    return report


def mail_part(
    config: DemoConfig, parts: Parts, routes: DemoRoutes, stream: LogStream, dead: dict[str, set[str]]
) -> dict[str, Any]:
    """The notification routes: each matching log accounted for, the mails SES got, the last few as HTML files."""
    from auth0_webhooks.settings import parse_domain

    mails = mail.sent_mails(parts.moto.url)
    tenant = parse_domain(os.environ["AUTH0_DOMAIN"])[1]
    profiles = stream.factory.profiles()
    report = mail.mail_report(routes.data, parts.stack, stream.produced, dead, mails, profiles, tenant)
    report["files"] = [str(path) for path in mail.write_last(mails, config.directory / "mails")]
    return report


class DeadLetter(NamedTuple):
    reason: str
    ids: list[str]
    route: str  # the message's route attribute; "default" without one


def dead_letters(stack: Stack) -> list[DeadLetter]:
    """Every message in the dead-letter queue: its reason, log ids and route (read, not removed)."""
    found = []
    for message in stack.receive_all(stack.dead_letter_queue_url):
        attributes = message.get("MessageAttributes", {})
        reason = attributes.get("reason", {}).get("StringValue") or "moved by SQS"
        route = attributes.get("route", {}).get("StringValue") or "default"
        try:
            body = json.loads(message["Body"])
        except ValueError:
            body = []
        entries = body if isinstance(body, list) else [body]
        ids = [str(e.get("log_id") or e.get("_id")) for e in entries if isinstance(e, dict)]
        found.append(DeadLetter(reason, ids, route))
    return found


def _by_reason(dead: list[DeadLetter]) -> dict[str, dict[str, int]]:
    groups: dict[str, dict[str, int]] = {}
    for reason, ids, _ in dead:
        group = groups.setdefault(reason, {"messages": 0, "logs": 0})
        group["messages"] += 1
        group["logs"] += len(ids)
    return groups


def checkpoint(stack: Stack, domain_url: str) -> dict[str, str]:
    from auth0_webhooks.settings import parse_domain

    key = parse_domain(domain_url)[1]
    item = stack.client("dynamodb").get_item(TableName=stack.table, Key={"pk": {"S": key}}).get("Item", {})
    return {name: value["S"] for name, value in item.items() if "S" in value and name != "pk"}
