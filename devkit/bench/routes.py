"""What routes cost: CPU per log with three routes against the one ``default`` route, and gzip's saving.

The three are the demo's shapes: every log with personal data hashed (a copy and an HMAC per
field), the security types only, failures only (on an EventBridge bus on moto). Both runs read
the same kind of logs from the same tenant in the same process, alternating, best of three;
Auth0 is read once per page whatever the number of routes (the figure's note gives the requests
of each run). The poller's figure (3c) counts its calling thread; the deliverer's (3d) its
whole process, as its requests run in worker threads, per log read from Auth0 (so a log the
three routes take is delivered three times within it).

:func:`gzip_delivery` delivers the delivery step's messages once more, through a route with
``compression: gzip``, to the same kind of receiver, and keeps its counts (the bytes the receiver
got, on the wire); the runner prices them beside today's cost per million logs.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TYPE_CHECKING

from ..lambda_context import LambdaContext
from ..tenant import LocalTenant
from .config import CLIENT_ID, CLIENT_SECRET, ROUNDS, Counts, Figure
from .tools import Receiver, count_aws_requests, receive_events

if TYPE_CHECKING:
    from .runner import Bench

EXTRA_ROUTE_GROWTH = 0.30  # target: the cost per log grows by at most 30 % per extra route
BUS = "auth0-logs"
ROUTES = """
routes:
  - id: siem
    pii: {{hash: [user_id, user_name, email, phone_number, ip], hash_key_secret: {secret}}}
    destination: {{type: webhook, url: "{url}/siem", allow_insecure: true, format: jsonlines}}
  - id: security
    match: {{types: [limit_wc, limit_mu, pwd_leak, signup_pwd_leak, reset_pwd_leak]}}
    destination: {{type: webhook, url: "{url}/security", allow_insecure: true, format: logstream}}
  - id: fails
    match: {{types: [f, fp, fu]}}
    destination: {{type: eventbridge, bus: auth0-logs}}
"""
GZIP_ROUTE_ID = "gzip"
GZIP_ROUTE = """
routes:
  - id: gzip
    destination: {{type: webhook, url: "{url}", allow_insecure: true, format: array, compression: gzip}}
"""
GZIP_TARGET = 0.05  # dollars per million logs


def poller_routes_cpu(bench: Bench) -> None:
    from functions.poller.app import lambda_handler as poll

    s = bench.scale
    stack = bench.stack()
    secret = f"{stack.table}/siem-hash-key"
    stack.client("secretsmanager").create_secret(Name=secret, SecretString="bench-hash-key")
    one: list[float] = []
    three: list[float] = []
    requests = {"one": 0, "three": 0}
    with TemporaryDirectory() as folder, LocalTenant(CLIENT_ID, CLIENT_SECRET) as tenant:
        path = Path(folder) / "routes.yaml"
        path.write_text(ROUTES.format(secret=secret, url="http://127.0.0.1:9"))  # the poller sends nothing
        bench.tenant_environ(tenant)
        tenant.add(bench.logs(200))
        poll({}, LambdaContext(60))  # warm: token, clients
        for _ in range(ROUNDS):
            for name, per_log in (("one", one), ("three", three)):
                if name == "three":
                    os.environ["ROUTES_FILE"] = str(path)
                tenant.add(bench.logs(s.cpu_logs))
                started = time.thread_time()
                summary = poll({}, LambdaContext(120))
                per_log.append((time.thread_time() - started) / max(1, summary["read"]))
                requests[name] = summary["auth0_requests"]
                os.environ.pop("ROUTES_FILE", None)
    target = 1 + 2 * EXTRA_ROUTE_GROWTH
    bench.figures.append(
        Figure(
            "3c. poller CPU per log, three routes",
            min(three) * 1e6,
            min(one) * 1e6,
            "µs",
            f"≤ {target:.1f}x",
            min(three) <= target * min(one),
            "baseline: the one default route; routes: all logs with 5 fields hashed, security types, failures;"
            f" best of 3; Auth0 requests per run: {requests['one']} (one route), {requests['three']} (three)",
            min(three) / min(one),
        )
    )


def deliverer_routes_cpu(bench: Bench) -> None:
    """The deliverer's CPU per log read from Auth0, delivering what the poller queued for three routes or one."""
    from functions.deliverer.app import lambda_handler as deliver
    from functions.poller.app import lambda_handler as poll

    s = bench.scale
    stack = bench.stack()
    secret = f"{stack.table}/siem-hash-key"
    stack.client("secretsmanager").create_secret(Name=secret, SecretString="bench-hash-key")
    stack.client("events").create_event_bus(Name=BUS)
    per_log: dict[str, list[float]] = {"one": [], "three": []}
    delivered: dict[str, int] = {"one": 0, "three": 0}
    with TemporaryDirectory() as folder, LocalTenant(CLIENT_ID, CLIENT_SECRET) as tenant, Receiver(0.0) as receiver:
        path = Path(folder) / "routes.yaml"
        path.write_text(ROUTES.format(secret=secret, url=receiver.url))
        bench.tenant_environ(tenant)
        bench.deliverer_environ(receiver.url, s.concurrency)
        for name in ("one", "three", "one", "three"):  # warm: token, clients, connections, each routing built
            _set_routes(path if name == "three" else None)
            tenant.add(bench.logs(50))
            poll({}, LambdaContext(60))
            for event in receive_events(stack):
                deliver(event, LambdaContext(60))
        try:
            for _ in range(ROUNDS):
                for name in ("one", "three"):
                    _set_routes(path if name == "three" else None)
                    tenant.add(bench.logs(s.cpu_logs))
                    summary = poll({}, LambdaContext(120))
                    events = receive_events(stack)
                    started = time.process_time()
                    for event in events:
                        response = deliver(event, LambdaContext(120))
                        assert not response["batchItemFailures"], response
                    per_log[name].append((time.process_time() - started) / max(1, summary["read"]))
                    delivered[name] = sum(summary.get("routed", {}).values()) or summary["enqueued"]
        finally:
            _set_routes(None)
    bench.figures.append(
        Figure(
            "3d. deliverer CPU per log, three routes",
            min(per_log["three"]) * 1e6,
            min(per_log["one"]) * 1e6,
            "µs",
            note=f"per log read from Auth0; the three routes deliver {delivered['three']:,} logs for"
            f" {s.cpu_logs:,} read (one route: {delivered['one']:,}), two webhooks (JSON lines, Log Streams) and an"
            " EventBridge bus on moto; best of 3; no target (the issue sets one for the poller only)",
            ratio=min(per_log["three"]) / min(per_log["one"]),
        )
    )


def gzip_delivery(bench: Bench) -> None:
    """The delivery step's run again through a ``compression: gzip`` route: its counts, for the cost model."""
    from auth0_webhooks.queue import LogQueue, batch_messages

    from functions.deliverer.app import lambda_handler as deliver

    s = bench.scale
    stack = bench.stack()
    messages = [
        replace(
            m, attributes={**m.attributes, "route": GZIP_ROUTE_ID, "webhook_id": f"gzip_{m.attributes['webhook_id']}"}
        )
        for m in batch_messages(bench.logs(s.delivery_messages * 100), 100)
    ]
    LogQueue(stack.client("sqs"), stack.queue_url, stack.dead_letter_queue_url).send(messages)
    events = receive_events(stack)
    logs = [sum(len(json.loads(record["body"])) for record in event["Records"]) for event in events]
    counts = Counts()
    with TemporaryDirectory() as folder, Receiver(s.delay) as receiver:
        path = Path(folder) / "routes.yaml"
        path.write_text(GZIP_ROUTE.format(url=receiver.url))
        bench.deliverer_environ(receiver.url, s.concurrency)
        _set_routes(path)
        try:
            deliver(events[0], LambdaContext(60))  # a warm container, as in the delivery step
            log_bytes, cpu = bench.stdout.bytes, time.process_time()
            with count_aws_requests(counts):
                for event in events[1:]:
                    started = time.perf_counter()
                    response = deliver(event, LambdaContext(60))
                    counts.seconds += time.perf_counter() - started
                    assert not response["batchItemFailures"], response
            counts.cpu_seconds = time.process_time() - cpu
            counts.log_bytes = bench.stdout.bytes - log_bytes
        finally:
            _set_routes(None)
    counts.logs, counts.invocations = sum(logs[1:]), len(events) - 1
    counts.queued_bytes = sum(len(r["body"].encode()) for e in events[1:] for r in e["Records"])
    # the receiver counts the warm-up's bytes too: the measured events' share of them, by logs
    counts.posted_bytes = round(receiver.received_bytes * counts.logs / max(1, sum(logs)))
    bench.gzip_counts = counts


def _set_routes(path: Path | None) -> None:
    if path is None:
        os.environ.pop("ROUTES_FILE", None)
    else:
        os.environ["ROUTES_FILE"] = str(path)
