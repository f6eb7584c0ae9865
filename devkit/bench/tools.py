"""The bench's instruments: request counters, a receiver in its own process, bare loops, child processes."""

from __future__ import annotations

import contextlib
import json
import math
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import boto3
import requests

from ..aws import Stack
from ..event_source import lambda_record
from ..tenant import LocalTenant, TokenBucket
from .config import CHUNK, CLIENT_ID, CLIENT_SECRET, ROOT, SECRET, Counts


def bucket_level(bucket: TokenBucket) -> float:
    """The tokens in the tenant's bucket now."""
    with bucket.lock:
        return min(float(bucket.burst), bucket.tokens + (time.monotonic() - bucket.at) * (bucket.rate or 0.0))


def sqs_payload_bytes(body: bytes | str | None) -> int:
    """The payload SQS bills a request by: its messages' bodies and attributes, not the request's JSON.

    The JSON protocol escapes each body again (every quote, every non-ASCII character), which
    SQS does not count. A body that is not a message request counts as it is.

    >>> entry = {"MessageBody": '{"a":"é"}', "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "1"}}}
    >>> sqs_payload_bytes(json.dumps({"QueueUrl": "q", "Entries": [entry, entry]}))
    36
    """
    raw = body.encode() if isinstance(body, str) else body or b""
    try:
        request = json.loads(raw)
    except ValueError:
        return len(raw)
    messages = request.get("Entries", [request]) if isinstance(request, dict) else []
    if not any(isinstance(m, dict) and "MessageBody" in m for m in messages):
        return len(raw)
    total = 0
    for message in messages:
        total += len(message.get("MessageBody", "").encode())
        for name, value in (message.get("MessageAttributes") or {}).items():
            total += len(name.encode()) + len(value.get("DataType", "").encode())
            total += len(value.get("StringValue", "").encode())
    return total


@contextlib.contextmanager
def count_aws_requests(counts: Counts) -> Iterator[None]:
    """Count the SQS and DynamoDB requests the library's clients send (botocore's before-send event).

    Both DynamoDB clients: the checkpoint's, and the one the routes' breaker and delivery record use
    within the invocation's deadline (``clients.dynamodb_within_deadline``).

    SQS bills each 64 KB chunk of a request's payload (:func:`sqs_payload_bytes`) as one request.
    """
    from auth0_webhooks import clients

    def on_send(request: Any, event_name: str, **_: Any) -> None:
        service, operation = event_name.split(".")[1:3]
        if service == "sqs":
            counts.sqs_requests[operation] += 1
            counts.sqs_chunks += max(1, math.ceil(sqs_payload_bytes(request.body) / CHUNK))
        else:
            counts.dynamodb[operation] += 1

    hooks = [
        (clients.sqs(), "before-send.sqs"),
        (clients.dynamodb(), "before-send.dynamodb"),
        (clients.dynamodb_within_deadline(), "before-send.dynamodb"),  # the routes' breaker and delivery record
    ]
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
    return receive_events(stack)


def receive_events(stack: Stack) -> list[dict[str, Any]]:
    """Everything on the queue, received as Lambda's event source would (≤10 records an event)."""
    sqs = stack.client("sqs")
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
        self.received_bytes = 0  # request body bytes it got (read when it stops)

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
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        try:
            self.received_bytes = int(self.process.stdout.readline().strip() or 0)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def serve_receiver(delay: float) -> None:
    """The receiver's process: print its URL, serve until stdin closes, then print the body bytes it got.

    It only waits: parsing each body and checking its signature (the tests do that) would add the
    receiver's own CPU time to every request, and the figure is about a receiver taking ``delay``.
    """
    from ..receivers import WebhookReceiver

    with WebhookReceiver(secret=SECRET, inspect=False) as receiver:
        receiver.failures.delay = delay
        print(receiver.url, flush=True)
        sys.stdin.read()
        with receiver.lock:
            print(sum(len(d.request.body) for d in receiver.deliveries), flush=True)


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
