"""``auth0-webhooks doctor``: the command line of :mod:`.doctor` (flags over the environment, one line per check)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from ..redaction import redact
from ..routes.load import ROUTES_FILE_SETTING
from .doctor import STACK_NAME_SETTING, Check, run_checks, secrets_in

PROG = "auth0-webhooks doctor"
SUMMARY = "check the Auth0 credentials, the webhook, the Slack URL and the routes file of a configuration"


def _parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Check the Auth0 credentials, the webhook, the Slack URL and the routes file of a configuration "
        "(environment variables as the functions read them; secrets only from the environment).",
    )
    parser.add_argument("--auth0-domain", help="overrides AUTH0_DOMAIN")
    parser.add_argument("--auth0-client-id", help="overrides AUTH0_CLIENT_ID")
    parser.add_argument("--webhook-url", help="overrides WEBHOOK_URL")
    parser.add_argument("--allow-insecure-webhook", action="store_true", help="accept an http:// webhook URL")
    parser.add_argument("--routes-file", help="overrides ROUTES_FILE")
    parser.add_argument("--stack", help="overrides STACK_NAME: the routes' secrets must be under its prefix")
    parser.add_argument("--slack-test", action="store_true", help="post a short test message to Slack")
    return parser


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    prog: str = PROG,
) -> int:
    args = _parser(prog).parse_args(argv)
    values = dict(os.environ if environ is None else environ)
    overrides = {
        "AUTH0_DOMAIN": args.auth0_domain,
        "AUTH0_CLIENT_ID": args.auth0_client_id,
        "WEBHOOK_URL": args.webhook_url,
        "ALLOW_INSECURE_WEBHOOK": "true" if args.allow_insecure_webhook else None,
        ROUTES_FILE_SETTING: args.routes_file,
        STACK_NAME_SETTING: args.stack,
    }
    values.update({name: value for name, value in overrides.items() if value})
    checks = run_checks(values, args.slack_test)
    if not checks:
        checks = [
            Check(
                "Nothing to check",
                False,
                "set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET, WEBHOOK_URL, SLACK_INCOMING_WEBHOOK_URL, "
                "or ROUTES_FILE",
            )
        ]
    secrets = secrets_in(values)
    for check in checks:
        print(redact(check.line(), secrets), file=out or sys.stdout)
    return 0 if all(check.ok for check in checks) else 1
