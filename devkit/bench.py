"""``make bench``: how fast and how cheap the pipeline is, each figure measured once beside its baseline.

Everything runs on this machine: moto's server (in a subprocess) for SQS and DynamoDB, the local
tenant (a thread here), and the webhook receiver (a subprocess, so that its work is not ours).
Logs come from :class:`devkit.logs.LogFactory`: about 1.4 KB each, every 500th about 200 KB.

1. Backlog drain: logs per second the poller enqueues when the tenant allows R requests a second
   (token bucket, 429 beyond), against the ceiling R x 100 (a full page per request). The bucket's
   burst is spent by a warm-up run first, so the measured run gets R requests a second and no more.
2. Delivery: logs per second the deliverer handler delivers to a receiver that takes 50 ms a request,
   at WEBHOOK_CONCURRENT_CALLS=C, against the ideal C x 100 / 50 ms. Only the handler's invocations
   are timed: the queue is loaded and the events are received before (that is the event source's
   work, not the function's).
3. Cost per log: CPU microseconds per log in each handler (the poller's calling thread; the deliverer's
   whole process, as its requests run in worker threads) against a bare loop making the same requests
   with requests and boto3 and nothing else.
4. Cold start: importing each handler module in a fresh interpreter, against ``import boto3``.
5. Peak memory (peak resident set, as Lambda's "Max Memory Used") of a poller run over 10,000 logs
   and of a deliverer batch.
6. The cost model: dollars per million logs at AWS list prices (``PRICES``), from the requests the
   runs above made.

``make bench`` or ``.venv/bin/python -m devkit.bench [--scale 0.1]``. Figures vary from run to run by
a few percent; the tests only check that the table is complete (``tests/integration/test_bench.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3
import requests

from .aws import MotoServer, Stack, create_stack
from .event_source import lambda_record
from .lambda_context import LambdaContext
from .logs import LogFactory
from .tenant import LocalTenant, TokenBucket

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a test secret, not a real one
CLIENT_ID, CLIENT_SECRET = "local-client", "local-secret-do-not-log"
LARGE_EVERY = 500  # every 500th log is about 200 KB
CHUNK = 64 * 1024  # SQS bills each 64 KB of a request's payload as one request

# AWS list prices, us-east-1, as published on the AWS pricing pages (checked 2025-07; re-check before quoting).
PRICES_AS_OF = "2025-07"
PRICES: dict[str, float] = {
    "lambda_gb_second_arm64": 0.0000133334,  # the template's functions are arm64
    "lambda_request": 0.20 / 1e6,
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KB chunk, after the free tier
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand, since the November 2024 price cut
    "dynamodb_read_unit": 0.125 / 1e6,
    "cloudwatch_logs_gb": 0.50,  # ingestion (standard class); EMF metrics arrive as log lines
    "transfer_out_gb": 0.09,  # data transfer out to the internet, first 10 TB a month
}
LAMBDA_MEMORY_GB = 256 / 1024  # template.yaml: MemorySize 256
PLATFORM_LOG_BYTES = 330  # Lambda's own START, END and REPORT lines per invocation, about
FULL_VCPU_MB = 1769  # Lambda gives a function one vCPU at 1,769 MB, and CPU in proportion below that
ROUNDS = 3


@dataclass(frozen=True)
class Scale:
    """How much work each figure does; ``--scale`` shrinks it (the smoke test uses 0.02)."""

    factor: float = 1.0
    rate: int = 5  # R: tenant requests per second
    burst: int = 10
    concurrency: int = 5  # C
    delay: float = 0.05

    def count(self, full: int, least: int) -> int:
        return max(least, int(full * self.factor))

    @property
    def drain_logs(self) -> int:
        return self.count(self.rate * 100 * 20, 300) + 50  # ~20 s at the ceiling; a short last page

    @property
    def delivery_messages(self) -> int:
        return self.count(300, 21)

    @property
    def cpu_logs(self) -> int:
        return self.count(5000, 300)

    @property
    def memory_logs(self) -> int:
        return self.count(10_000, 300)

    @property
    def import_runs(self) -> int:
        return self.count(7, 1)


@dataclass
class Figure:
    name: str
    measured: float
    baseline: float | None
    unit: str
    target: str = ""
    ok: bool | None = None  # None: no target
    note: str = ""
    ratio: float | None = None


@dataclass
class Counts:
    """Requests and bytes the runs made, for the cost model (per phase)."""

    logs: int = 0
    invocations: int = 0
    seconds: float = 0.0  # handler wall time
    sqs_chunks: int = 0
    sqs_requests: Counter[str] = field(default_factory=Counter)
    dynamodb: Counter[str] = field(default_factory=Counter)
    cpu_seconds: float = 0.0  # handler CPU time
    log_bytes: int = 0  # what the handlers wrote to stdout (CloudWatch Logs)
    posted_bytes: int = 0  # request bodies sent to the webhook


class ByteCounter(io.TextIOBase):
    """A stdout that counts what the functions write (their JSON logs and EMF metrics) and drops it."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)


# -- shared set-up -----------------------------------------------------------------------------------


class Bench:
    def __init__(self, scale: Scale, out: IO[str]) -> None:
        self.scale, self.out = scale, out
        self.figures: list[Figure] = []
        self.poller_counts, self.deliverer_counts = Counts(), Counts()
        self.factory = LogFactory(seed=11)
        self.stdout = ByteCounter()

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def run(self) -> list[Figure]:
        env = {
            "POWERTOOLS_SERVICE_NAME": "auth0-webhooks-bench",
            "POWERTOOLS_METRICS_NAMESPACE": "Auth0WebhooksBench",
            "POWERTOOLS_LOG_LEVEL": "INFO",  # as deployed: the handlers' one line per invocation is part of the cost
            # as in Lambda: Powertools' batch processor then runs the event loop as it does there. Without it, it
            # calls asyncio.run, which in the main thread swaps SIGINT handlers and formats the task's repr: ~5 ms
            # an invocation that Lambda never spends
            "LAMBDA_TASK_ROOT": str(ROOT),
        }
        os.environ.update(env)
        with MotoServer() as moto, contextlib.redirect_stdout(self.stdout):
            os.environ.update(moto.environ())
            self.moto = moto
            steps: list[tuple[str, Callable[[], None]]] = [
                ("backlog drain", self.backlog_drain),
                ("delivery", self.delivery),
                ("CPU per log", self.cpu_per_log),
                ("cold start", self.cold_start),
                ("peak memory", self.peak_memory),
            ]
            for label, step in steps:
                started = time.monotonic()
                self.say(f"  measuring {label}…")
                step()
                self.say(f"  … {time.monotonic() - started:.0f}s")
        self.cost_model()
        return self.figures

    def stack(self) -> Stack:
        stack = create_stack(self.moto.url, visibility_timeout=600)
        os.environ.update(stack.environ())
        return stack

    def logs(self, count: int) -> list[dict[str, Any]]:
        return self.factory.many(count, large_every=LARGE_EVERY)

    def tenant_environ(self, tenant: LocalTenant) -> None:
        os.environ.update(
            AUTH0_DOMAIN=tenant.url, AUTH0_CLIENT_ID=CLIENT_ID, AUTH0_CLIENT_SECRET=CLIENT_SECRET, START_FROM="0"
        )
        for name in ("LOG_TYPES", "MIN_LOG_LEVEL", "API_ENDPOINTS", "BATCH_SIZE", "SLACK_INCOMING_WEBHOOK_URL"):
            os.environ.pop(name, None)

    # -- 1. backlog drain ---------------------------------------------------------------------------

    def backlog_drain(self) -> None:
        from functions.poller.app import lambda_handler as poll

        s = self.scale
        self.stack()
        bucket = TokenBucket(burst=s.burst, rate=s.rate)
        warm_up, backlog = self.logs((s.burst + s.rate) * 100), self.logs(s.drain_logs)
        with LocalTenant(CLIENT_ID, CLIENT_SECRET, bucket=bucket) as tenant:
            self.tenant_environ(tenant)
            tenant.add(warm_up)  # a first run spends the bucket's burst
            poll({}, LambdaContext(60))
            tenant.add(backlog)
            requests_before, limited_before = tenant.stats.log_requests, tenant.stats.answered_429
            counts = self.poller_counts
            with count_aws_requests(counts):
                log_bytes, left, cpu = self.stdout.bytes, bucket_level(bucket), time.thread_time()
                started = time.monotonic()
                summary = poll({}, LambdaContext(120))
                elapsed = time.monotonic() - started
                counts.cpu_seconds += time.thread_time() - cpu
            counts.log_bytes += self.stdout.bytes - log_bytes
            counts.logs += summary["enqueued"]
            counts.invocations += 1
            counts.seconds += elapsed
            requests_made = tenant.stats.log_requests - requests_before
            limited = tenant.stats.answered_429 - limited_before
        # the ceiling: R full pages a second, and the tokens the bucket still held at the start
        rate, ceiling = summary["enqueued"] / elapsed, (s.rate + left / elapsed) * 100.0
        share_429 = limited / max(1, requests_made)
        ratio = rate / ceiling
        self.figures.append(
            Figure(
                f"1. backlog drain, R={s.rate}/s",
                rate,
                ceiling,
                "logs/s",
                "≥ 0.95, < 1% 429",
                ratio >= 0.95 and share_429 < 0.01,
                f"{summary['enqueued']:,} logs in {elapsed:.1f}s; {requests_made} requests, {limited} answered 429"
                f" ({share_429:.1%}); {summary['rate_limit_waits']} waits for x-ratelimit-reset; ceiling"
                f" {s.rate} x 100 logs/s (+{left:.1f} tokens left in the bucket at the start)",
                ratio,
            )
        )

    # -- 2. delivery ---------------------------------------------------------------------------------

    def delivery(self) -> None:
        from functions.deliverer.app import lambda_handler as deliver

        s = self.scale
        stack = self.stack()
        events = load_events(stack, self.logs(s.delivery_messages * 100))
        logs = [sum(len(json.loads(record["body"])) for record in event["Records"]) for event in events]
        with Receiver(s.delay) as receiver:
            self.deliverer_environ(receiver.url, s.concurrency)
            deliver(events[0], LambdaContext(60))  # a warm container: clients and connections exist
            counts = self.deliverer_counts
            elapsed = 0.0
            log_bytes, cpu = self.stdout.bytes, time.process_time()
            for event in events[1:]:
                started = time.perf_counter()
                response = deliver(event, LambdaContext(60))
                elapsed += time.perf_counter() - started
                assert not response["batchItemFailures"], response
            counts.cpu_seconds += time.process_time() - cpu
            counts.log_bytes += self.stdout.bytes - log_bytes
            counts.logs += sum(logs[1:])
            counts.invocations += len(events) - 1
            counts.seconds += elapsed
            counts.posted_bytes += sum(len(r["body"].encode()) for e in events[1:] for r in e["Records"])
            bare = bare_posts(receiver.url, events[1:], s.concurrency)
        rate, ideal = sum(logs[1:]) / elapsed, s.concurrency * 100 / s.delay
        invocations = len(events) - 1
        self.figures.append(
            Figure(
                f"2. delivery, C={s.concurrency}, 50 ms receiver",
                rate,
                ideal,
                "logs/s",
                "≥ 0.8",
                rate / ideal >= 0.8,
                f"{sum(logs[1:]):,} logs in {invocations} invocations of ≤10 records:"
                f" {elapsed / invocations * 1000:.0f} ms"
                f" each, {counts.cpu_seconds / invocations * 1000:.0f} ms of it CPU; a bare requests loop at"
                f" C={s.concurrency} reaches {bare / ideal:.2f} of the ideal",
                rate / ideal,
            )
        )

    def deliverer_environ(self, url: str, concurrency: int) -> None:
        os.environ.update(
            WEBHOOK_URL=url,
            ALLOW_INSECURE_WEBHOOK="true",
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_CONCURRENT_CALLS=str(concurrency),
            SEND_AS_BATCH="true",
        )
        for name in ("WEBHOOK_AUTHORIZATION", "SLACK_INCOMING_WEBHOOK_URL", "SLACK_SEND_SUCCESS"):
            os.environ.pop(name, None)

    # -- 3. CPU per log ------------------------------------------------------------------------------

    def cpu_per_log(self) -> None:
        """Best of three rounds each, alternating handler and bare loop (noise only adds CPU time)."""
        from functions.deliverer.app import lambda_handler as deliver
        from functions.poller.app import lambda_handler as poll

        s = self.scale
        stack = self.stack()
        poller, bare = [], []
        with LocalTenant(CLIENT_ID, CLIENT_SECRET) as tenant:
            self.tenant_environ(tenant)
            tenant.add(self.logs(200))
            poll({}, LambdaContext(60))  # warm: token, clients
            for _ in range(ROUNDS):
                tenant.add(self.logs(s.cpu_logs))
                started = time.thread_time()
                summary = poll({}, LambdaContext(120))
                poller.append((time.thread_time() - started) / summary["read"])
                bare.append(bare_poller(tenant, stack, s.cpu_logs) / s.cpu_logs)
        self.figures.append(
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
        stack = self.stack()
        events = load_events(stack, self.logs(max(s.cpu_logs, 2100)))  # at least two events
        logs = sum(len(json.loads(r["body"])) for e in events[1:] for r in e["Records"])
        bodies = [r["body"].encode() for e in events[1:] for r in e["Records"]]
        deliverer, bare = [], []
        with Receiver(0.0) as receiver:
            self.deliverer_environ(receiver.url, s.concurrency)
            deliver(events[0], LambdaContext(60))
            session = requests.Session()
            session.post(receiver.url, data=b"[]")
            for _ in range(ROUNDS):
                started = time.process_time()
                for event in events[1:]:
                    deliver(event, LambdaContext(60))
                deliverer.append((time.process_time() - started) / logs)
                started = time.process_time()
                for body in bodies:
                    session.post(receiver.url, data=body, headers={"Content-Type": "application/json"}).close()
                bare.append((time.process_time() - started) / logs)
        self.figures.append(
            Figure(
                "3b. deliverer CPU per log",
                min(deliverer) * 1e6,
                min(bare) * 1e6,
                "µs",
                "≤ 1.3x",
                min(deliverer) <= 1.3 * min(bare),
                "whole process (time.process_time: its requests run in worker threads; receiver and moto are other"
                " processes), best of 3; bare: POST each body with one Session",
                min(deliverer) / min(bare),
            )
        )

    # -- 4. cold start ---------------------------------------------------------------------------------

    def cold_start(self) -> None:
        runs = self.scale.import_runs
        boto = statistics.median(import_seconds("boto3") for _ in range(runs))
        for name, module in (("poller", "functions.poller.app"), ("deliverer", "functions.deliverer.app")):
            seconds = statistics.median(import_seconds(module) for _ in range(runs))
            heaviest = ", ".join(f"{m} {ms:.0f}" for m, ms in heaviest_imports(module, 4))
            self.figures.append(
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

    # -- 5. peak memory --------------------------------------------------------------------------------

    def peak_memory(self) -> None:
        s = self.scale
        baseline = child_rss(["import boto3, requests"], {})
        stack = self.stack()
        with LocalTenant(CLIENT_ID, CLIENT_SECRET) as tenant:
            self.tenant_environ(tenant)
            tenant.add(self.logs(s.memory_logs))
            poller = child_rss(
                [
                    "from functions.poller.app import lambda_handler",
                    "from devkit.lambda_context import LambdaContext",
                    "result = lambda_handler({}, LambdaContext(300))",
                    f"assert result['read'] == {s.memory_logs}, result",
                ],
                dict(os.environ),
            )
        self.figures.append(
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
        stack = self.stack()
        events = load_events(stack, self.logs(1000))
        largest = max(events, key=lambda e: sum(len(r["body"]) for r in e["Records"]))
        size = sum(len(r["body"]) for r in largest["Records"]) / 1e6
        with Receiver(0.0) as receiver:
            self.deliverer_environ(receiver.url, self.scale.concurrency)
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
        self.figures.append(
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

    # -- 6. the cost model -------------------------------------------------------------------------------

    def cost_model(self) -> None:
        self.costs = cost_lines(self.poller_counts, self.deliverer_counts)
        total = sum(dollars for _, dollars, _ in self.costs)
        self.figures.append(
            Figure("6. cost per million logs", total, None, "$", note=f"AWS list prices of {PRICES_AS_OF}; see below")
        )


# -- helpers -------------------------------------------------------------------------------------------


def bucket_level(bucket: TokenBucket) -> float:
    """The tokens in the tenant's bucket now."""
    with bucket.lock:
        return min(float(bucket.burst), bucket.tokens + (time.monotonic() - bucket.at) * (bucket.rate or 0.0))


@contextlib.contextmanager
def count_aws_requests(counts: Counts) -> Iterator[None]:
    """Count the SQS and DynamoDB requests the library's clients send (botocore's before-send event)."""
    from auth0_webhooks import clients

    def on_send(request: Any, event_name: str, **_: Any) -> None:
        service, operation = event_name.split(".")[1:3]
        if service == "sqs":
            counts.sqs_requests[operation] += 1
            counts.sqs_chunks += max(1, math.ceil(len(request.body or b"") / CHUNK))
        else:
            counts.dynamodb[operation] += 1

    hooks = [(clients.sqs(), "before-send.sqs"), (clients.dynamodb(), "before-send.dynamodb")]
    for client, event in hooks:
        client.meta.events.register(event, on_send, unique_id="bench-counter")
    try:
        yield
    finally:
        for client, event in hooks:
            client.meta.events.unregister(event, unique_id="bench-counter")


def load_events(stack: Stack, logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queue the logs as the poller does, then receive them as Lambda's event source would (≤10 records)."""
    from auth0_webhooks.queue import LogQueue, batch_messages

    sqs = stack.client("sqs")
    LogQueue(sqs, stack.queue_url, stack.dead_letter_queue_url).send(batch_messages(logs, 100))
    arn = sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=stack.queue_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=600,
        ).get("Messages", [])
        if not messages:
            return events
        events.append({"Records": [lambda_record(m, arn) for m in messages]})


class Receiver:
    """A WebhookReceiver in a subprocess (its CPU is not ours), answering after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.url = ""

    def __enter__(self) -> Receiver:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devkit.bench", "--serve-receiver", str(self.delay)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip() + "/hook"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def serve_receiver(delay: float) -> None:
    """The receiver's process: print its URL, serve until stdin closes.

    It only waits: parsing each body and checking its signature (the tests do that) would add the
    receiver's own CPU time to every request, and the figure is about a receiver taking ``delay``.
    """
    from .receivers import WebhookReceiver

    with WebhookReceiver(secret=SECRET, inspect=False) as receiver:
        receiver.failures.delay = delay
        print(receiver.url, flush=True)
        sys.stdin.read()


def bare_posts(url: str, events: list[dict[str, Any]], concurrency: int) -> float:
    """Logs per second a plain requests loop delivers to the same receiver at the same concurrency."""
    from concurrent.futures import ThreadPoolExecutor

    from requests.adapters import HTTPAdapter

    bodies = [(r["body"].encode(), len(json.loads(r["body"]))) for e in events for r in e["Records"]]
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=concurrency, pool_maxsize=concurrency))

    def post(item: tuple[bytes, int]) -> int:
        session.post(url, data=item[0], headers={"Content-Type": "application/json"}).close()
        return item[1]

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, bodies[:concurrency]))  # open the connections
        started = time.perf_counter()
        logs = sum(pool.map(post, bodies))
        return logs / (time.perf_counter() - started)


def bare_poller(tenant: LocalTenant, stack: Stack, count: int) -> float:
    """CPU seconds of a plain loop reading ``count`` logs: GET, SendMessageBatch, UpdateItem per page."""
    from auth0_webhooks.clients import AWS_CONFIG

    session = requests.Session()
    token = session.post(
        f"{tenant.url}/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "audience": f"https://{tenant.url.split('://')[1]}/api/v2/",
        },
    ).json()["access_token"]
    options: dict[str, Any] = dict(endpoint_url=stack.endpoint, region_name="us-east-1", config=AWS_CONFIG)
    sqs, ddb = boto3.client("sqs", **options), boto3.client("dynamodb", **options)
    logs = tenant.logs
    cursor = logs[-count - 1]["log_id"]  # the same logs the poller read
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    sqs.get_queue_attributes(QueueUrl=stack.queue_url, AttributeNames=["QueueArn"])  # connect
    started, read = time.thread_time(), 0
    while read < count:
        reply = session.get(f"{tenant.url}/api/v2/logs", params={"from": cursor, "take": 100}, headers=headers)
        page = reply.json()
        if not page:
            break
        sqs.send_message_batch(QueueUrl=stack.queue_url, Entries=[{"Id": "0", "MessageBody": reply.text}])
        cursor, read = page[-1]["log_id"], read + len(page)
        ddb.update_item(
            TableName=stack.table,
            Key={"pk": {"S": "bare"}},
            UpdateExpression="SET log_id = :id",
            ExpressionAttributeValues={":id": {"S": cursor}},
        )
    return time.thread_time() - started


def import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(done.stdout.strip())


def heaviest_imports(module: str, count: int) -> list[tuple[str, float]]:
    """The packages whose own modules take longest to import with ``module`` (python -X importtime)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    totals: dict[str, float] = {}
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \| *(\S+)", line)
        if match:
            package = match.group(2).split(".")[0]
            totals[package] = totals.get(package, 0.0) + int(match.group(1)) / 1000
    return sorted(totals.items(), key=lambda item: -item[1])[:count]


def child_rss(lines: list[str], environ: dict[str, str], stdin: str = "") -> float:
    """Run code in a fresh interpreter; its peak resident memory in MB."""
    code = "\n".join(
        [
            "import contextlib, io",
            "with contextlib.redirect_stdout(io.StringIO()):",
            *[f"    {line}" for line in lines],
            # VmHWM: the peak of this program's own memory (ru_maxrss would carry the parent's over exec)
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environ or None,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory run failed: {done.stderr[-2000:]}")
    return int(done.stdout.strip().splitlines()[-1]) / 1024  # kB


def cost_lines(poller: Counts, deliverer: Counts) -> list[tuple[str, float, str]]:
    """(item, dollars per million logs, how it was counted)."""
    p, d = PRICES, 1e6
    lines = []
    for name, counts in (("poller", poller), ("deliverer", deliverer)):
        if not counts.logs:
            continue
        per_log = d / counts.logs
        # at 256 MB the function has 256/1769 of a vCPU: its CPU time stretches, its waiting does not
        stretch = FULL_VCPU_MB / (LAMBDA_MEMORY_GB * 1024) - 1
        seconds = counts.seconds + counts.cpu_seconds * stretch
        lines.append(
            (
                f"Lambda {name}: duration",
                seconds * LAMBDA_MEMORY_GB * per_log * p["lambda_gb_second_arm64"],
                f"{seconds / counts.logs * 1e6:,.0f} µs a log at 256 MB, arm64"
                f" ({counts.seconds / counts.logs * 1e6:,.0f} µs here, of which"
                f" {counts.cpu_seconds / counts.logs * 1e6:,.0f} µs CPU, stretched {stretch + 1:.1f}x)",
            )
        )
        lines.append(
            (
                f"Lambda {name}: requests",
                counts.invocations * per_log * p["lambda_request"],
                f"{counts.logs / counts.invocations:,.0f} logs an invocation",
            )
        )
        log_bytes = counts.log_bytes + counts.invocations * PLATFORM_LOG_BYTES
        lines.append(
            (
                f"CloudWatch Logs: {name}",
                log_bytes * per_log / 1e9 * p["cloudwatch_logs_gb"],
                f"{log_bytes / counts.logs:.1f} bytes a log (JSON log lines, EMF metrics, Lambda's own lines)",
            )
        )
    if poller.logs:
        per_log = d / poller.logs
        lines.append(
            (
                "SQS: poller sends",
                poller.sqs_chunks * per_log * p["sqs_request"],
                f"{poller.sqs_chunks} chunks of 64 KB in {sum(poller.sqs_requests.values())} SendMessageBatch"
                f" for {poller.logs:,} logs",
            )
        )
        writes = sum(v for k, v in poller.dynamodb.items() if k != "GetItem")
        reads = poller.dynamodb["GetItem"]
        lines.append(
            (
                "DynamoDB: checkpoint",
                (writes * p["dynamodb_write_unit"] + reads * p["dynamodb_read_unit"]) * per_log,
                f"{writes} writes and {reads} reads (each under 1 KB) for {poller.logs:,} logs",
            )
        )
    if deliverer.logs:
        per_log = d / deliverer.logs
        chunks = math.ceil(deliverer.posted_bytes / CHUNK) + deliverer.invocations * 2  # receives, then deletes
        lines.append(
            (
                "SQS: event source receives + deletes",
                chunks * per_log * p["sqs_request"],
                f"{deliverer.posted_bytes / deliverer.logs:,.0f} bytes a log received in 64 KB chunks,"
                " one DeleteMessageBatch an invocation",
            )
        )
        lines.append(
            (
                "Data transfer out to the webhook",
                deliverer.posted_bytes * per_log / 1e9 * p["transfer_out_gb"],
                "if the receiver is outside AWS (request bodies; headers add ~0.5 KB a request)",
            )
        )
    return lines


# -- the report ----------------------------------------------------------------------------------------------


def machine() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def number(value: float, unit: str) -> str:
    if unit == "$":
        return f"${value:.3f}"
    if value >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.1f} {unit}"


def table(figures: list[Figure]) -> list[str]:
    rows = [("figure", "measured", "baseline", "ratio", "target", "")]
    for f in figures:
        verdict = "" if f.ok is None else ("pass" if f.ok else "FAIL")
        baseline = number(f.baseline, f.unit) if f.baseline is not None else "-"
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "-"
        rows.append((f.name, number(f.measured, f.unit), baseline, ratio, f.target or "-", verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:5], widths[1:5], strict=True)
        ]
        lines.append("| " + " | ".join(cells + [row[5].ljust(widths[5])]) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines


def report(bench: Bench, figures: list[Figure]) -> None:
    say = bench.say
    say("")
    say(f"Machine: {machine()}")
    say("")
    for line in table(figures):
        say(line)
    say("")
    for f in figures:
        if f.note:
            say(f"- {f.name}: {f.note}")
    say("")
    say(f"Cost per million logs (AWS list prices, us-east-1, {PRICES_AS_OF}):")
    for item, dollars, how in bench.costs:
        say(f"  ${dollars:8.4f}  {item}: {how}")
    say("  Not per log: the schedule's invocations, EMF custom metrics, alarms, secrets, the dashboard.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")))
    parser.add_argument("--serve-receiver", type=float, metavar="DELAY", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_receiver is not None:
        serve_receiver(args.serve_receiver)
        return 0
    out = sys.stdout
    bench = Bench(Scale(factor=args.scale), out)
    bench.say(f"auth0-webhooks bench (scale {args.scale:g}): moto, the local tenant and receiver on this machine")
    threading.current_thread().name = "bench"
    report(bench, bench.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
