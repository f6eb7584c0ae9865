"""``auth0-webhooks status``: the command line of :mod:`.status` (a stack or explicit names, text or JSON).

In a terminal the view is a set of rich tables (rich is a dev dependency, imported only here);
piped, it is :func:`.status.render`'s plain text; ``--json`` is for machines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from .aws import OperatorError, plain_error, stack_queues, stack_table
from .status import StackStatus, gather, render

PROG = "auth0-webhooks status"
SUMMARY = "the stack at a glance: the poller, each route's breaker and record, the queues"


def _parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=SUMMARY[0].upper() + SUMMARY[1:] + ".")
    add_target(parser)
    add_queues(parser)
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    return parser


def add_target(parser: argparse.ArgumentParser) -> None:
    """The options that name a stack or its checkpoint table (shared with ``routes list|pause|resume``)."""
    parser.add_argument("--stack", help="a deployed stack's name: the table and queues come from its outputs")
    parser.add_argument("--table", default=os.environ.get("CHECKPOINT_TABLE"), help="default: $CHECKPOINT_TABLE")
    parser.add_argument("--region", help="AWS region (default: from the AWS configuration)")


def add_queues(parser: argparse.ArgumentParser) -> None:
    """The options that name the main and dead-letter queues (shared with ``redrive``)."""
    parser.add_argument("--queue-url", default=os.environ.get("QUEUE_URL"), help="default: $QUEUE_URL")
    parser.add_argument(
        "--dead-letter-queue-url",
        default=os.environ.get("DEAD_LETTER_QUEUE_URL"),
        help="default: $DEAD_LETTER_QUEUE_URL",
    )


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    import boto3

    from ..clients import AWS_CONFIG

    parser = _parser(prog)
    args = parser.parse_args(argv)
    try:
        if args.stack:
            cloudformation = boto3.client("cloudformation", region_name=args.region, config=AWS_CONFIG)
            queue_url, dead_letter_queue_url = stack_queues(cloudformation, args.stack)
            table = stack_table(cloudformation, args.stack)
        elif args.table and args.queue_url and args.dead_letter_queue_url:
            table, queue_url, dead_letter_queue_url = args.table, args.queue_url, args.dead_letter_queue_url
        else:
            parser.error("give --stack, or --table, --queue-url and --dead-letter-queue-url")
        dynamodb = boto3.client("dynamodb", region_name=args.region, config=AWS_CONFIG)
        sqs = boto3.client("sqs", region_name=args.region, config=AWS_CONFIG)
        status = gather(dynamodb, sqs, table, queue_url, dead_letter_queue_url, datetime.now(UTC))
    except OperatorError as error:
        print(f"status: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"status: {plain_error(error)}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(status.as_json(), indent=2))
    elif sys.stdout.isatty():
        print_tables(status)
    else:
        print(render(status))
    return 0 if status.healthy else 3


def print_tables(status: StackStatus, width: int | None = None) -> None:
    """The same facts as :func:`.status.render`, as tables, each verdict red unless ``healthy``."""
    from rich.console import Console
    from rich.table import Table

    def verdict(text: str) -> str:
        return f"[green]{text}[/]" if text == "healthy" else f"[bold red]{text}[/]"

    console = Console(width=width)
    console.print(f"auth0-webhooks status at {status.at}")
    pollers = Table("poller", "checkpoint", "moved", "behind", "verdict", title="Poller")
    for p in status.pollers:
        moved = "-" if p.checkpoint_age_min is None else f"{p.checkpoint_age_min} min ago"
        behind = "-" if p.behind_min is None else f"{p.behind_min} min"
        pollers.add_row(p.key, p.checkpoint or "-", moved, behind, verdict(p.verdict))
    if not status.pollers:
        pollers.add_row("-", "no checkpoint yet", "-", "-", verdict("poller has never run"))
    routes = Table("route", "destination", "state", "last success", "delivered", "retried", "dead", "held", "verdict")
    routes.title = "Routes"
    for r in status.routes:
        routes.add_row(
            r.route,
            r.host or "-",
            r.state,
            r.last_success or "never",
            str(r.delivered),
            str(r.retried),
            str(r.dead_lettered),
            str(r.held),
            verdict(r.verdict) + "".join(f"\n[dim]{error}[/]" for error in r.recent_errors),
        )
    q = status.queue
    queue = Table("waiting", "in flight", "delayed", "dead letters", "verdict", title="Queue")
    queue.add_row(str(q.waiting), str(q.in_flight), str(q.delayed), str(q.dead_letters), verdict(q.verdict))
    for table in (pollers, routes, queue):
        console.print(table)
