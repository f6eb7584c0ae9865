"""``auth0-webhooks preview``: exactly what an ``email`` or ``slack`` route would send for one log.

Reads the route from the routes file (``--routes``, default ``ROUTES_FILE`` or ``config/routes.yaml``)
and its template from ``templates/`` beside it (or ``--templates``); looks the user up on the tenant
as the deliverer does (``AUTH0_DOMAIN``, ``AUTH0_CLIENT_ID``, ``AUTH0_CLIENT_SECRET``; the application
needs ``read:users``); prints to whom, the subject and the text, and writes the HTML part to a file.
Nothing is sent and no ledger record is written. With ``--send-to ADDRESS`` (e-mail routes only),
that one message is sent with SES to ``ADDRESS`` instead of the user, from the route's ``from``.

Exit codes: 0 the message would be sent (or was sent to ``--send-to``); 1 nothing would be sent for
this log (the reason is printed) or the test send failed; 2 bad input (route, log file, settings).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO, cast

from ..errors import Auth0WebhooksError
from ..routes.check import check_file, template_problems, templates_dir
from ..routes.model import EmailDestination, Route, SlackDestination
from .routes_command import default_file

PROG = "auth0-webhooks preview"
SUMMARY = "render what an email or slack route would send for a log (--send-to: mail it to a test address)"


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--route", required=True, help="the id of an email or slack route")
    parser.add_argument("--log", required=True, type=Path, help="a file with one Auth0 log entry (JSON)")
    parser.add_argument("--routes", type=Path, help="the routes file (default: ROUTES_FILE, or config/routes.yaml)")
    parser.add_argument(
        "--templates", type=Path, help="the templates folder (default: TEMPLATES_DIR, or templates/ beside the routes)"
    )
    parser.add_argument("--html", type=Path, default=Path("preview.html"), help="where to write the HTML part")
    parser.add_argument("--send-to", metavar="ADDRESS", help="send this one e-mail to ADDRESS (a test inbox)")
    return parser


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    prog: str = PROG,
) -> int:
    args = _parser(prog).parse_args(argv)
    env = dict(os.environ if environ is None else environ)
    out = out or sys.stdout
    routes_file = args.routes or default_file(env)
    templates = args.templates or Path(env.get("TEMPLATES_DIR") or templates_dir(routes_file))
    try:
        route = _route(routes_file, args.route, templates)
        log = _log(args.log)
    except ValueError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    if args.send_to and not isinstance(route.destination, EmailDestination):
        print(f"{prog}: --send-to: route {route.id} is a {route.destination.type} route, not email", file=sys.stderr)
        return 2
    try:
        preview, notifier = _preview(route, log, templates, env)
    except Auth0WebhooksError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    if preview.subject:
        args.html.write_text(preview.html, encoding="utf-8")
    print(f"Route: {route.id} ({route.destination.type})", file=out)
    print(f"To: {preview.to or '(nobody)'}", file=out)
    if preview.subject:
        print(f"Subject: {preview.subject}\n\n{preview.text.rstrip()}\n\n(HTML part: {args.html})", file=out)
    if not preview.would_send:
        print(f"Would not send: {preview.reason}", file=out)
        return 1
    if not args.send_to:
        print("Nothing sent (--send-to ADDRESS mails it to a test address).", file=out)
        return 0
    return _send(route, preview, args.send_to, notifier, out)


def _route(path: Path, route_id: str, templates: Path) -> Route:
    report = check_file(path, checks=(lambda routes, _: template_problems(routes, templates),))
    if not report.ok:
        problems = "\n  ".join(map(str, report.errors))
        raise ValueError(f"{path} has errors (auth0-webhooks routes check):\n  {problems}")
    for route in report.routes:
        if route.id == route_id:
            if not isinstance(route.destination, EmailDestination | SlackDestination):
                raise ValueError(f"--route: {route_id} is a {route.destination.type} route, not email or slack")
            return route
    ids = ", ".join(r.id for r in report.routes if isinstance(r.destination, EmailDestination | SlackDestination))
    raise ValueError(f"--route: no route {route_id!r} in {path}; its email and slack routes: {ids or 'none'}")


def _log(path: Path) -> dict[str, Any]:
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"--log: {path} is not a readable JSON log entry ({type(error).__name__})") from None
    if not isinstance(log, dict):
        raise ValueError(f"--log: {path} holds {type(log).__name__}; a log entry is a JSON object")
    return log


def _preview(route: Route, log: Mapping[str, Any], templates: Path, env: Mapping[str, str]) -> tuple[Any, Any]:
    from ..auth0_source import Auth0LogSource
    from ..env import Env
    from ..notify.notifier import MIN_SECONDS_LEFT, Notifier
    from ..notify.recipients import UserDirectory
    from ..notify.sender import notify_target
    from ..notify.templates import TemplateStore
    from ..settings import Auth0Settings

    auth0 = Auth0Settings.from_env(Env(env))
    source = Auth0LogSource(auth0)
    users = UserDirectory(auth0.base_url, lambda: source.token(lambda: MIN_SECONDS_LEFT), source.session)
    target = notify_target(route, {"destination.webhook_url_secret": "https://(not read for a preview)"})
    no_ledger = cast(Any, None)  # a preview claims nothing: Notifier.preview never reads the ledger
    store = TemplateStore(templates)
    notifier = Notifier({route.id: target}, store, users, no_ledger, source.session, None, auth0.domain)
    return notifier.preview(route.id, log), notifier


def _send(route: Route, preview: Any, address: str, notifier: Any, out: TextIO) -> int:
    from ..notify.ses import Email, SendError

    destination = route.destination
    assert isinstance(destination, EmailDestination)  # checked by main
    email = Email(destination.sender, address, preview.subject, preview.text, preview.html, tags={"route": route.id})
    try:
        message_id = notifier.mailer.send(email)
    except SendError as error:
        print(f"Not sent to {address}: {error.reason}", file=out)
        return 1
    print(f"Sent to {address} (SES message id {message_id}).", file=out)
    return 0
