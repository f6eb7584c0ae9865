"""``auth0-webhooks routes check|list|pause|resume``: a routes file before it deploys, a stack's routes after.

``routes check [FILE]`` is the command line of :mod:`auth0_webhooks.routes.check`. The file is
FILE, else the one ``ROUTES_FILE`` names, else ``config/routes.yaml``. ``--stack NAME`` also
checks that every secret is under the stack's prefix. It prints every error and warning at once
(``--json``: one JSON object), and exits 0 when the file is fine, 1 when it has errors, 2 for a
wrong command line.

``routes list`` shows the routes a deployed stack (``--stack``, or its table with ``--table``)
holds a breaker or delivery record for, each with its breaker state and verdict (the routes lines
of ``status``). ``routes pause ID`` pauses a route's deliveries by hand: it holds its messages
(they wait in the queue, attempts unspent) and is never probed until ``routes resume ID``, which
starts its breaker afresh. These three exit 0, or 1 when AWS or the stack says no.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from ..health.breaker import Breaker, BreakerConflict, BreakerStore
from ..routes.check import check_file
from ..routes.load import routes_file
from .args import route_id
from .aws import OperatorError, plain_error, stack_table
from .status import route_ids, routes_status, table_items
from .status_command import add_target

PROG = "auth0-webhooks routes"
SUMMARY = "check a routes file, or list, pause or resume a stack's routes (check | list | pause ID | resume ID)"
DEFAULT_FILE = Path("config/routes.yaml")
DESCRIPTION = (
    "Check a routes file before deploying it: every error at once, each naming the route, the field and "
    "what is allowed, then the warnings. Exit code: 0 when it has no errors, 1 when it has, 2 for a wrong "
    "command line."
)
ACTIONS = {  # the commands that act on a deployed stack → their help
    "list": "a stack's routes, each with its breaker state and verdict",
    "pause": "pause a route's deliveries by hand: its logs wait, no probes, until resumed",
    "resume": "resume a paused route, its breaker afresh",
}


def default_file(environ: Mapping[str, str] | None = None) -> Path:
    """The routes file ``ROUTES_FILE`` names, else ``config/routes.yaml``.

    >>> str(default_file({"ROUTES_FILE": "/etc/routes.yaml"})), str(default_file({}))
    ('/etc/routes.yaml', 'config/routes.yaml')
    """
    return routes_file(os.environ if environ is None else environ) or DEFAULT_FILE


def _check_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "file", nargs="?", type=Path, help="the routes file (default: $ROUTES_FILE, else config/routes.yaml)"
    )
    parser.add_argument(
        "--stack",
        "--stack-name",
        dest="stack",
        metavar="NAME",
        help="the stack's name: every secret must be under its prefix (NAME/… in Secrets Manager, /NAME/… in SSM)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object (file, ok, routes, errors, warnings)"
    )
    return parser


def _parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=SUMMARY[0].upper() + SUMMARY[1:] + ".")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{check,list,pause,resume}")
    _check_parser(commands.add_parser("check", help="check a routes file before deploying it", description=DESCRIPTION))
    for action, help in ACTIONS.items():
        sub = commands.add_parser(action, help=help, description=help[0].upper() + help[1:] + ".")
        if action == "list":
            sub.add_argument("--json", action="store_true", help="print one JSON object (routes)")
        else:
            sub.add_argument("route", type=route_id, help="the route's id (`default` without a routes file)")
        add_target(sub)
    return parser


def check_main(
    argv: Sequence[str] | None = None,
    prog: str = f"{PROG} check",
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    """``routes check``'s own command line (also ``python -m auth0_webhooks.routes.check``)."""
    parser = _check_parser(argparse.ArgumentParser(prog=prog, description=DESCRIPTION))
    return _check(parser.parse_args(argv), environ, out)


def main(
    argv: Sequence[str] | None = None,
    prog: str = PROG,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    parser = _parser(prog)
    args = parser.parse_args(argv)
    if args.command == "check":
        return _check(args, environ, out)
    import boto3

    from ..clients import AWS_CONFIG

    if not (args.stack or args.table):
        parser.error("give --stack or --table")
    try:
        if args.stack:
            table = stack_table(boto3.client("cloudformation", region_name=args.region, config=AWS_CONFIG), args.stack)
        else:
            table = args.table
        dynamodb = boto3.client("dynamodb", region_name=args.region, config=AWS_CONFIG)
        text = _list(dynamodb, table, args.json) if args.command == "list" else _pause(dynamodb, table, args)
    except (OperatorError, BreakerConflict) as error:
        print(f"routes {args.command}: {error}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"routes {args.command}: {plain_error(error)}", file=sys.stderr)
        return 1
    print(text, file=out or sys.stdout)
    return 0


def _list(dynamodb: Any, table: str, as_json: bool) -> str:
    routes = routes_status(dynamodb, table, route_ids(table_items(dynamodb, table)), 0, datetime.now(UTC))
    if as_json:
        keep = ("route", "state", "since", "host", "verdict")
        return json.dumps({"routes": [{name: getattr(r, name) for name in keep} for r in routes]}, indent=2)
    if not routes:
        return "no routes yet: a route is listed once it has delivered, failed or been paused"
    return "\n".join(f"{r.route:<28} {r.state:<9} {r.verdict}" for r in routes)


def _pause(dynamodb: Any, table: str, args: argparse.Namespace) -> str:
    breaker = Breaker(BreakerStore(dynamodb, table))
    state = breaker.pause(args.route) if args.command == "pause" else breaker.resume(args.route)
    return f"route {args.route}: {'paused (held until resumed)' if state.paused else 'resumed'}"


def _check(args: argparse.Namespace, environ: Mapping[str, str] | None, out: TextIO | None) -> int:
    path = args.file or default_file(environ)
    report = check_file(path, secret_prefix=args.stack)
    text = json.dumps(report.as_json(), indent=2) if args.json else report.text()
    print(text, file=out or sys.stdout)
    return 0 if report.ok else 1
