"""``auth0-webhooks redrive``: the command line of :mod:`.redrive` (queues from a stack or URLs, the report)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .args import log_types, route_id
from .aws import OperatorError, plain_error, stack_queues
from .redrive import DEFAULT_RATE, RedriveOptions, Redriver
from .status_command import add_queues

PROG = "auth0-webhooks redrive"
SUMMARY = "move dead-lettered logs back to the main queue, paced, and report what moved"
_REGION_IN_URL = re.compile(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com")


def _positive(kind: type[int] | type[float]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be a number above 0, got {text!r}")
        return value

    return parse


def _parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Move dead-lettered logs back to the main queue, paced, and report what moved.",
    )
    parser.add_argument("--stack", help="a deployed stack's name: the queue URLs come from its outputs")
    add_queues(parser)
    parser.add_argument("--types", type=log_types, default=frozenset(), help="only logs of these types, e.g. s,f")
    parser.add_argument(
        "--route", type=route_id, help="only that route's dead letters (those with no route attribute: default)"
    )
    parser.add_argument("--max-messages", type=_positive(int), help="move at most this many messages")
    parser.add_argument("--rate", type=_positive(float), default=DEFAULT_RATE, help="messages per second (5)")
    parser.add_argument("--dry-run", action="store_true", help="report what would move, move nothing")
    parser.add_argument("--region", help="AWS region (default: from the queue URL or the AWS configuration)")
    return parser


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    import boto3

    from ..clients import AWS_CONFIG

    args = _parser(prog).parse_args(argv)
    try:
        if args.stack:
            cloudformation = boto3.client("cloudformation", region_name=args.region, config=AWS_CONFIG)
            queue_url, dead_letter_queue_url = stack_queues(cloudformation, args.stack)
        elif args.queue_url and args.dead_letter_queue_url:
            queue_url, dead_letter_queue_url = args.queue_url, args.dead_letter_queue_url
        else:
            _parser(prog).error("give --stack, or --queue-url and --dead-letter-queue-url")
        match = _REGION_IN_URL.match(dead_letter_queue_url)
        region = args.region or (match.group(1) if match else None)
        sqs = boto3.client("sqs", region_name=region, config=AWS_CONFIG)
        options = RedriveOptions(
            queue_url,
            dead_letter_queue_url,
            args.types,
            args.route,
            args.max_messages,
            args.rate,
            args.dry_run,
        )
        report = Redriver(sqs, options).run()
    except OperatorError as error:  # RedriveError too
        print(f"redrive: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"redrive: {plain_error(error)}", file=sys.stderr)
        return 1
    if report.moved or report.skipped or report.not_matching or report.other_routes or not report.error:
        print(report.summary())
    if report.error:
        print(f"redrive: stopped: {report.error}", file=sys.stderr)
        return 1
    return 0
