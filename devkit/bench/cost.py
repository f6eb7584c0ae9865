"""The cost per million logs at AWS list prices, from the requests and bytes the bench's runs made."""

from __future__ import annotations

import math

from .config import CHUNK, FULL_VCPU_MB, LAMBDA_MEMORY_GB, PLATFORM_LOG_BYTES, Counts

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
        queued = deliverer.queued_bytes or deliverer.posted_bytes
        chunks = math.ceil(queued / CHUNK) + deliverer.invocations * 2  # receives, then deletes
        lines.append(
            (
                "SQS: event source receives + deletes",
                chunks * per_log * p["sqs_request"],
                f"{queued / deliverer.logs:,.0f} bytes a log received in 64 KB chunks,"
                " one DeleteMessageBatch an invocation",
            )
        )
        reads = deliverer.dynamodb["GetItem"]
        writes = sum(count for operation, count in deliverer.dynamodb.items() if operation != "GetItem")
        if reads or writes:
            invocations = max(1, deliverer.invocations)
            lines.append(
                (
                    "DynamoDB: the routes' breaker and delivery record",
                    (writes * p["dynamodb_write_unit"] + reads * p["dynamodb_read_unit"]) * per_log,
                    f"{writes} writes and {reads} consistent reads for {deliverer.logs:,} logs"
                    f" ({(writes + reads) / invocations:.0f} an invocation of"
                    f" {deliverer.logs / invocations:,.0f} logs),"
                    " a unit each (the item is under 1 KB while no failure is recorded)",
                )
            )
        lines.append(
            (
                "Data transfer out to the webhook",
                deliverer.posted_bytes * per_log / 1e9 * p["transfer_out_gb"],
                f"if the receiver is outside AWS: {deliverer.posted_bytes / deliverer.logs:,.0f} bytes of request"
                " body a log (headers add ~0.5 KB a request)",
            )
        )
    return lines
