"""How fast: the backlog drain, delivery, and the latency from a log's date to its delivery."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from ..lambda_context import LambdaContext
from ..latency import Sample, on_schedule
from ..tenant import LocalTenant, TokenBucket
from .config import CLIENT_ID, CLIENT_SECRET, DEPLOYED_SCHEDULE_SECONDS, Figure
from .tools import Receiver, bare_posts, bucket_level, count_aws_requests, load_events, receive_events

if TYPE_CHECKING:
    from .runner import Bench


def backlog_drain(bench: Bench) -> None:
    from functions.poller.app import lambda_handler as poll

    s = bench.scale
    bench.stack()
    bucket = TokenBucket(burst=s.burst, rate=s.rate)
    warm_up, backlog = bench.logs((s.burst + s.rate) * 100), bench.logs(s.drain_logs)
    with LocalTenant(CLIENT_ID, CLIENT_SECRET, bucket=bucket) as tenant:
        bench.tenant_environ(tenant)
        tenant.add(warm_up)  # a first run spends the bucket's burst
        poll({}, LambdaContext(60))
        tenant.add(backlog)
        requests_before, limited_before = tenant.stats.log_requests, tenant.stats.answered_429
        counts = bench.poller_counts
        with count_aws_requests(counts):
            log_bytes, left, cpu = bench.stdout.bytes, bucket_level(bucket), time.thread_time()
            started = time.monotonic()
            summary = poll({}, LambdaContext(120))
            elapsed = time.monotonic() - started
            counts.cpu_seconds += time.thread_time() - cpu
        counts.log_bytes += bench.stdout.bytes - log_bytes
        counts.logs += summary["enqueued"]
        counts.invocations += 1
        counts.seconds += elapsed
        requests_made = tenant.stats.log_requests - requests_before
        limited = tenant.stats.answered_429 - limited_before
    # the ceiling: R full pages a second, and the tokens the bucket still held at the start
    rate, ceiling = summary["enqueued"] / elapsed, (s.rate + left / elapsed) * 100.0
    share_429 = limited / max(1, requests_made)
    ratio = rate / ceiling
    bench.figures.append(
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


def delivery(bench: Bench) -> None:
    from functions.deliverer.app import lambda_handler as deliver

    s = bench.scale
    stack = bench.stack()
    events = load_events(stack, bench.logs(s.delivery_messages * 100))
    logs = [sum(len(json.loads(record["body"])) for record in event["Records"]) for event in events]
    with Receiver(s.delay) as receiver:
        bench.deliverer_environ(receiver.url, s.concurrency)
        deliver(events[0], LambdaContext(60))  # a warm container: clients and connections exist
        counts = bench.deliverer_counts
        elapsed = 0.0
        log_bytes, cpu = bench.stdout.bytes, time.process_time()
        with count_aws_requests(counts):  # the routes' breaker and delivery record, in DynamoDB
            for event in events[1:]:
                started = time.perf_counter()
                response = deliver(event, LambdaContext(60))
                elapsed += time.perf_counter() - started
                assert not response["batchItemFailures"], response
        counts.cpu_seconds += time.process_time() - cpu
        counts.log_bytes += bench.stdout.bytes - log_bytes
        counts.logs += sum(logs[1:])
        counts.invocations += len(events) - 1
        counts.seconds += elapsed
        counts.posted_bytes += sum(len(r["body"].encode()) for e in events[1:] for r in e["Records"])
        bare = bare_posts(receiver.url, events[1:], s.concurrency)
    rate, ideal = sum(logs[1:]) / elapsed, s.concurrency * 100 / s.delay
    invocations = len(events) - 1
    bench.figures.append(
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


def latency(bench: Bench) -> None:
    """A log's date to its delivery on the deployed schedule (every minute).

    Each round adds a poller run's worth of new logs, then times one poller run and the
    delivery of everything it queued (to the 50 ms receiver): that is the pipeline time of
    every log of the round (an upper bound: the last delivery's). ``devkit.latency`` adds
    the schedule's wait, from 0 to 60 s, to each. The baseline is the wait alone.
    """
    from functions.deliverer.app import lambda_handler as deliver
    from functions.poller.app import lambda_handler as poll

    s = bench.scale
    stack = bench.stack()
    samples: list[Sample] = []
    idle: list[float] = []
    with LocalTenant(CLIENT_ID, CLIENT_SECRET) as tenant, Receiver(s.delay) as receiver:
        bench.tenant_environ(tenant)
        bench.deliverer_environ(receiver.url, s.concurrency)
        tenant.add(bench.logs(10))
        poll({}, LambdaContext(60))  # warm: token, clients, connections
        for event in receive_events(stack):
            deliver(event, LambdaContext(60))
        for _ in range(s.latency_rounds):
            started = time.perf_counter()
            poll({}, LambdaContext(60))  # nothing new: what the schedule costs when idle
            idle.append(time.perf_counter() - started)
            count = s.latency_logs
            tenant.add(bench.logs(count))
            started = time.perf_counter()
            poll({}, LambdaContext(60))
            for event in receive_events(stack):
                response = deliver(event, LambdaContext(60))
                assert not response["batchItemFailures"], response
            pipeline = time.perf_counter() - started
            samples += [Sample(age=pipeline, wait=0.0)] * count
    bench.idle_poll_seconds = min(idle)
    deployed, alone = (
        on_schedule(samples, DEPLOYED_SCHEDULE_SECONDS),
        on_schedule([Sample(0.0, 0.0)], DEPLOYED_SCHEDULE_SECONDS),
    )
    note = (
        f"{s.latency_rounds} rounds of {s.latency_logs} new logs: one poller run, then their delivery, took"
        f" {min(p.age for p in samples):.2f}-{max(p.age for p in samples):.2f}s; plus the wait for the next run,"
        f" 0 to {DEPLOYED_SCHEDULE_SECONDS:g}s alike (devkit/latency.py); Auth0's own delay before a log can be"
        " read is not in it"
    )
    for label, got, base, target in (
        ("median", deployed.median, alone.median, 35.0),
        ("95th percentile", deployed.p95, alone.p95, 62.0),
    ):
        bench.figures.append(
            Figure(
                f"7. latency, date to delivery, 1-min schedule: {label}",
                got,
                base,
                "s",
                f"≤ {target:g} s",
                got <= target,
                note if label == "median" else "",
                got / base,
            )
        )
