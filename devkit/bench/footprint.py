"""How heavy: CPU per log against a bare loop, cold start, and peak memory."""

from __future__ import annotations

import json
import os
import statistics
import time
from typing import TYPE_CHECKING

import requests

from ..lambda_context import LambdaContext
from ..tenant import LocalTenant
from .config import CLIENT_ID, CLIENT_SECRET, ROUNDS, Counts, Figure
from .tools import (
    Receiver,
    bare_poller,
    child_rss,
    count_aws_requests,
    heaviest_imports,
    import_seconds,
    load_events,
)

if TYPE_CHECKING:
    from .runner import Bench


def cpu_per_log(bench: Bench) -> None:
    """Best of three rounds each, alternating handler and bare loop (noise only adds CPU time)."""
    from functions.deliverer.app import lambda_handler as deliver
    from functions.poller.app import lambda_handler as poll

    s = bench.scale
    stack = bench.stack()
    poller, bare = [], []
    with LocalTenant(CLIENT_ID, CLIENT_SECRET) as tenant:
        bench.tenant_environ(tenant)
        tenant.add(bench.logs(200))
        poll({}, LambdaContext(60))  # warm: token, clients
        for _ in range(ROUNDS):
            tenant.add(bench.logs(s.cpu_logs))
            started = time.thread_time()
            summary = poll({}, LambdaContext(120))
            poller.append((time.thread_time() - started) / summary["read"])
            bare.append(bare_poller(tenant, stack, s.cpu_logs) / s.cpu_logs)
    bench.figures.append(
        Figure(
            "3a. poller CPU per log",
            min(poller) * 1e6,
            min(bare) * 1e6,
            "µs",
            "≤ 1.3x",
            min(poller) <= 1.3 * min(bare),
            "calling thread (time.thread_time), best of 3; bare: GET a page, SendMessageBatch of it as received,"
            " UpdateItem",
            min(poller) / min(bare),
        )
    )
    stack = bench.stack()
    events = load_events(stack, bench.logs(max(s.cpu_logs, 2100)))  # at least two events
    logs = sum(len(json.loads(r["body"])) for e in events[1:] for r in e["Records"])
    bodies = [r["body"].encode() for e in events[1:] for r in e["Records"]]
    deliverer, bare = [], []
    with Receiver(0.0) as receiver:
        bench.deliverer_environ(receiver.url, s.concurrency)
        deliver(events[0], LambdaContext(60))
        session = requests.Session()
        session.post(receiver.url, data=b"[]")
        dynamodb = Counts()
        for _ in range(ROUNDS):
            started = time.process_time()
            with count_aws_requests(dynamodb):
                for event in events[1:]:
                    deliver(event, LambdaContext(60))
            deliverer.append((time.process_time() - started) / logs)
            started = time.process_time()
            for body in bodies:
                session.post(receiver.url, data=body, headers={"Content-Type": "application/json"}).close()
            bare.append((time.process_time() - started) / logs)
    bench.figures.append(
        Figure(
            "3b. deliverer CPU per log",
            min(deliverer) * 1e6,
            min(bare) * 1e6,
            "µs",
            "≤ 1.3x",
            min(deliverer) <= 1.3 * min(bare),
            "whole process (time.process_time: its requests run in worker threads; receiver and moto are other"
            " processes), best of 3; bare: POST each body with one Session; the deliverer also made"
            f" {sum(dynamodb.dynamodb.values()) / (ROUNDS * (len(events) - 1)):.0f} DynamoDB requests an invocation"
            " of 10 records (the routes' breaker and delivery record), which the bare loop does not",
            min(deliverer) / min(bare),
        )
    )


def cold_start(bench: Bench) -> None:
    runs = bench.scale.import_runs
    boto = statistics.median(import_seconds("boto3") for _ in range(runs))
    for name, module in (("poller", "functions.poller.app"), ("deliverer", "functions.deliverer.app")):
        seconds = statistics.median(import_seconds(module) for _ in range(runs))
        heaviest = ", ".join(f"{m} {ms:.0f}" for m, ms in heaviest_imports(module, 4))
        bench.figures.append(
            Figure(
                f"4. cold start: import {name} handler",
                seconds * 1000,
                boto * 1000,
                "ms",
                "≤ 2x",
                seconds <= 2 * boto,
                f"median of {runs} fresh interpreters; the time by package (ms, own modules): {heaviest}",
                seconds / boto,
            )
        )


def peak_memory(bench: Bench) -> None:
    s = bench.scale
    baseline = child_rss(["import boto3, requests"], {})
    stack = bench.stack()
    with LocalTenant(CLIENT_ID, CLIENT_SECRET) as tenant:
        bench.tenant_environ(tenant)
        tenant.add(bench.logs(s.memory_logs))
        poller = child_rss(
            [
                "from functions.poller.app import lambda_handler",
                "from devkit.lambda_context import LambdaContext",
                "result = lambda_handler({}, LambdaContext(300))",
                f"assert result['read'] == {s.memory_logs}, result",
            ],
            dict(os.environ),
        )
    bench.figures.append(
        Figure(
            f"5a. peak memory: poller over {s.memory_logs:,} logs",
            poller,
            baseline,
            "MB",
            "< 128 MB",
            poller < 128,
            "peak RSS of a fresh process (VmHWM); baseline: a process that imported boto3 and requests",
        )
    )
    stack = bench.stack()
    events = load_events(stack, bench.logs(1000))
    largest = max(events, key=lambda e: sum(len(r["body"]) for r in e["Records"]))
    size = sum(len(r["body"]) for r in largest["Records"]) / 1e6
    with Receiver(0.0) as receiver:
        bench.deliverer_environ(receiver.url, bench.scale.concurrency)
        deliverer = child_rss(
            [
                "import json, sys",
                "from functions.deliverer.app import lambda_handler",
                "from devkit.lambda_context import LambdaContext",
                "response = lambda_handler(json.load(sys.stdin), LambdaContext(60))",
                "assert not response['batchItemFailures'], response",
            ],
            dict(os.environ),
            stdin=json.dumps(largest),
        )
    bench.figures.append(
        Figure(
            f"5b. peak memory: deliverer batch ({len(largest['Records'])} records, {size:.1f} MB)",
            deliverer,
            baseline,
            "MB",
            "< 128 MB",
            deliverer < 128,
            "peak RSS of a fresh process (VmHWM)",
        )
    )
