"""``auth0-webhooks status``: the command line of :mod:`.status` (a stack or explicit names, text or JSON)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .aws import OperatorError, plain_error, stack_queues
from .status import gather, render

PROG = "auth0-webhooks status"
SUMMARY = "the stack at a glance: the poller, each route's breaker and record, the queues"


def _parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=SUMMARY[0].upper() + SUMMARY[1:] + ".")
    add_target(parser)
    parser.add_argument("--queue-url", default=os.environ.get("QUEUE_URL"), help="default: $QUEUE_URL")
    parser.add_argument(
        "--dead-letter-queue-url",
        default=os.environ.get("DEAD_LETTER_QUEUE_URL"),
        help="default: $DEAD_LETTER_QUEUE_URL",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    return parser


def add_target(parser: argparse.ArgumentParser) -> None:
    """The options that name a stack or its checkpoint table (shared with ``route``)."""
    parser.add_argument("--stack", help="a deployed stack's name: the table and queues come from its outputs")
    parser.add_argument("--table", default=os.environ.get("CHECKPOINT_TABLE"), help="default: $CHECKPOINT_TABLE")
    parser.add_argument("--region", help="AWS region (default: from the AWS configuration)")


def stack_table(cloudformation: Any, stack: str) -> str:
    """The checkpoint table from a deployed stack's output ``CheckpointTableName``."""
    stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    if "CheckpointTableName" not in outputs:
        raise OperatorError(f"stack {stack} has no output CheckpointTableName: is it an auth0-webhooks stack?")
    return str(outputs["CheckpointTableName"])


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
    print(json.dumps(status.as_json(), indent=2) if args.json else render(status))
    return 0 if status.healthy else 3
