"""Render a template for a log file, offline: ``python -m auth0_webhooks.notify TEMPLATE LOG.json``.

For template authors: checks the template against the allow-list, renders it for the log with
the recipient given on the command line (no tenant look-up, nothing sent), prints the subject
and text, and writes the HTML to a file. ``auth0-webhooks preview --route`` (the CLI) does the
same through a route, with the real look-up.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .event import Recipient, build_event
from .templates import CHECKOUT_TEMPLATES, TemplateError, TemplateStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m auth0_webhooks.notify", description=__doc__.splitlines()[0])
    parser.add_argument("template", help="a folder name under the templates folder, e.g. password-changed")
    parser.add_argument("log", type=Path, help="a file with one Auth0 log entry (JSON)")
    parser.add_argument("--templates", type=Path, default=CHECKOUT_TEMPLATES, help="the templates folder")
    parser.add_argument("--email", default="ana@example.com", help="the recipient's address (as looked up)")
    parser.add_argument("--name", default="Ana Silva", help="the recipient's name (as looked up)")
    parser.add_argument("--tenant", default="", help="the tenant's name, as templates see it")
    parser.add_argument("--html", type=Path, default=Path("preview.html"), help="where to write the HTML part")
    args = parser.parse_args(argv)
    try:
        log = json.loads(args.log.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"{args.log}: not a readable JSON log entry ({type(error).__name__})", file=sys.stderr)
        return 2
    if not isinstance(log, dict):
        print(f"{args.log}: a log entry is a JSON object", file=sys.stderr)
        return 2
    recipient = Recipient(str(log.get("user_id") or ""), args.email, True, args.name)
    try:
        message = TemplateStore(args.templates).validate(args.template).render(build_event(log, recipient, args.tenant))
    except TemplateError as error:
        print(error, file=sys.stderr)
        return 1
    if not message.subject:
        print(f"template {args.template!r} sends nothing for this log (its subject is empty)")
        return 0
    args.html.write_text(message.html, encoding="utf-8")
    print(f"To: {args.name} <{args.email}>\nSubject: {message.subject}\n\n{message.text}\n(HTML part: {args.html})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
