"""``auth0-webhooks routes check [FILE]``: the command line of :mod:`auth0_webhooks.routes.check`.

The file is FILE, else the one ``ROUTES_FILE`` names, else ``config/routes.yaml``. ``--stack NAME``
also checks that every secret is under the stack's prefix. It prints every error and warning at
once (``--json``: one JSON object), and exits 0 when the file is fine, 1 when it has errors, 2 for
a wrong command line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from ..routes.check import check_file
from ..routes.load import routes_file

PROG = "auth0-webhooks routes"
SUMMARY = "check a routes file: every error at once, each naming the route, the field and what is allowed"
DEFAULT_FILE = Path("config/routes.yaml")
DESCRIPTION = (
    "Check a routes file before deploying it: every error at once, each naming the route, the field and "
    "what is allowed, then the warnings. Exit code: 0 when it has no errors, 1 when it has, 2 for a wrong "
    "command line."
)


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
    parser = argparse.ArgumentParser(prog=prog, description="Work with a routes file.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{check}")
    _check_parser(commands.add_parser("check", help="check a routes file before deploying it", description=DESCRIPTION))
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
    return _check(_parser(prog).parse_args(argv), environ, out)


def _check(args: argparse.Namespace, environ: Mapping[str, str] | None, out: TextIO | None) -> int:
    path = args.file or default_file(environ)
    report = check_file(path, secret_prefix=args.stack)
    text = json.dumps(report.as_json(), indent=2) if args.json else report.text()
    print(text, file=out or sys.stdout)
    return 0 if report.ok else 1
