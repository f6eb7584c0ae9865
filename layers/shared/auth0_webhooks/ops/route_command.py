"""``auth0-webhooks route pause|resume ID``: pause or resume a route's deliveries by hand.

A route paused by command holds its messages (they wait in the queue, attempts unspent) and
is never probed until ``route resume``; resuming starts its breaker afresh.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from ..health.breaker import Breaker, BreakerStore
from .aws import OperatorError, plain_error
from .status_command import add_target, stack_table

PROG = "auth0-webhooks route"
SUMMARY = "pause or resume a route's deliveries (pause ID | resume ID)"
ROUTE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _route_id(text: str) -> str:
    if not ROUTE_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"a route id is 1-64 letters, digits, '_' or '-'; got {text!r}")
    return text


def _parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Pause or resume a route's deliveries.")
    parser.add_argument("action", choices=("pause", "resume"))
    parser.add_argument("route", type=_route_id, help="the route's id (`default` without a routes file)")
    add_target(parser)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    import boto3

    from ..clients import AWS_CONFIG

    parser = _parser(prog)
    args = parser.parse_args(argv)
    try:
        if args.stack:
            table = stack_table(boto3.client("cloudformation", region_name=args.region, config=AWS_CONFIG), args.stack)
        elif args.table:
            table = args.table
        else:
            parser.error("give --stack or --table")
        breaker = Breaker(BreakerStore(boto3.client("dynamodb", region_name=args.region, config=AWS_CONFIG), table))
        state = breaker.pause(args.route) if args.action == "pause" else breaker.resume(args.route)
    except OperatorError as error:
        print(f"route: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"route: {plain_error(error)}", file=sys.stderr)
        return 1
    print(f"route {args.route}: {'paused (held until resumed)' if state.paused else 'resumed'}")
    return 0
