"""The demo's notification routes: ``email`` routes for ``scp`` and ``limit_wc`` logs, and the mails they sent.

moto's SES keeps every message it was asked to send; :func:`sent_mails` reads them through moto's
API (``/moto-api/data.json``), and :func:`write_last` writes the last few as HTML files a person
can open. The local tenant's users get profiles from the log factory (:meth:`LogFactory.profiles`),
so the deliverer's look-ups find the user each log is about.

:func:`mail_report` accounts for every log a notification route's ``match`` takes, where a user
would look: the ledger's record of it in the checkpoint table (``sent``, ``skipped``: no verified
address, ``held``: the per-recipient limit), else the dead-letter queue with the route's id, else
it is missing. Each ``sent`` log must have exactly one mail in moto's SES: to its user's address,
with what the route's template makes of it (rendered again here with the library's templates).

>>> ledger_entry("notify#notify-account-blocked#90020261129")
('notify-account-blocked', '90020261129')
>>> ledger_entry("notify-rate#ab12#1700000000") is None
True
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from ..aws import Stack
from .config import ROOT

SENDER_ADDRESS = "security@acme.test"
SENDER = f"Acme Security <{SENDER_ADDRESS}>"
TEMPLATE_FOR = {"scp": "password-changed", "limit_wc": "account-blocked"}  # route notify-<template> each
KEEP_LAST = 3  # mails written as HTML files
TEMPLATES = ROOT / "config" / "templates"  # deployed beside routes.yaml in /opt; here TEMPLATES_DIR names them
# the stack parameters that give the deliverer the look-ups, the ledger and ses:SendEmail
PARAMETERS = {"Notifications": "true", "NotificationFromAddress": SENDER_ADDRESS}


def routes() -> list[dict[str, Any]]:
    """The demo's notification routes: one per template (a route names one template)."""
    return [
        {
            "id": f"notify-{template}",
            "match": {"types": [log_type]},
            "destination": {"type": "email", "template": template, "from": SENDER},
        }
        for log_type, template in TEMPLATE_FOR.items()
    ]


def verify_sender(ses_client: Any) -> None:
    """Verify the sender's identity in moto's SES (a deployment verifies it in the SES console)."""
    ses_client.create_email_identity(EmailIdentity=SENDER_ADDRESS)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str  # the HTML part as moto keeps it


def sent_mails(moto_url: str) -> list[Mail]:
    """Every mail moto's SES sent, oldest first."""
    data = requests.get(f"{moto_url}/moto-api/data.json", timeout=10).json()
    messages = data.get("ses", {}).get("Message", [])
    return [
        Mail(", ".join(m["destinations"]["ToAddresses"]), str(m.get("subject", "")), str(m.get("body", "")))
        for m in messages
    ]


def write_last(mails: list[Mail], folder: Path, count: int = KEEP_LAST) -> list[Path]:
    """The last ``count`` mails as ``mail-<n>.html`` under ``folder``, each headed by its To and Subject."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("mail-*.html"):  # an earlier run's
        stale.unlink()
    written = []
    for number, mail in enumerate(mails[-count:] if count else [], start=1):
        path = folder / f"mail-{number}.html"
        head = f"<p><b>To:</b> {html.escape(mail.to)}<br><b>Subject:</b> {html.escape(mail.subject)}</p><hr>\n"
        path.write_text(head + mail.body, encoding="utf-8")
        written.append(path)
    return written


MailKey = tuple[str, str, str]  # (to, subject, HTML body)


def mail_report(
    data: Mapping[str, Any],
    stack: Stack,
    produced: Sequence[Mapping[str, Any]],
    dead: Mapping[str, set[str]],
    mails: Sequence[Mail],
    profiles: Sequence[Mapping[str, Any]],
    tenant: str,
) -> dict[str, Any]:
    """By notification route: what happened to each log its match takes, and the mails SES got for them."""
    from auth0_webhooks.notify.event import Recipient, build_event
    from auth0_webhooks.notify.templates import TemplateStore
    from auth0_webhooks.routes import parse_routes
    from auth0_webhooks.routes.model import EmailDestination
    from auth0_webhooks.routes.plan import compile_route

    states = ledger_states(stack)
    users = {
        str(p["user_id"]): Recipient(str(p["user_id"]), str(p["email"]), p["email_verified"] is True, str(p["name"]))
        for p in profiles
    }
    store = TemplateStore(TEMPLATES)
    arrived = Counter((m.to, m.subject, m.body) for m in mails)
    routes: dict[str, Any] = {}
    for route in parse_routes(dict(data)):
        if not isinstance(route.destination, EmailDestination):
            continue
        template, compiled = store.validate(route.destination.template), compile_route(route, None)
        outcomes: dict[str, list[str]] = {}
        wanted: Counter[MailKey] = Counter()
        for log in (e for e in produced if compiled.matches(e)):
            log_id = str(log["log_id"])
            state = states.get((route.id, log_id)) or ("dead_lettered" if log_id in dead.get(route.id, ()) else "")
            outcomes.setdefault(state or "missing", []).append(log_id)
            recipient = users.get(str(log.get("user_id")))
            if state == "sent" and recipient is not None:
                rendered = template.render(build_event(log, recipient, tenant))
                wanted[(recipient.email, rendered.subject, rendered.html)] += 1
        matched = sum(len(ids) for ids in outcomes.values())
        routes[route.id] = {
            "template": route.destination.template,
            "matched": matched,
            **{state: len(outcomes.get(state, [])) for state in ("sent", "skipped", "held", "dead_lettered")},
            "mails": sum(min(arrived[key], n) for key, n in wanted.items()),
            "duplicates": sum(max(0, arrived[key] - n) for key, n in wanted.items()),
            "missing": outcomes.get("missing", []) + outcomes.get("sending", []),
            "log_ids": {state: sorted(ids) for state, ids in outcomes.items()},
        }
        for key in wanted:
            arrived[key] = 0  # this route's: the rest are another route's, or nobody's
    return {"sent": len(mails), "routes": routes, "unexpected": sum(arrived.values())}


def ledger_states(stack: Stack) -> dict[tuple[str, str], str]:
    """Every notification record in the checkpoint table: (route id, log id) → its state."""
    found = {}
    pages = stack.client("dynamodb").get_paginator("scan").paginate(TableName=stack.table)
    for item in (item for page in pages for item in page.get("Items", [])):
        entry = ledger_entry(item["pk"]["S"])
        if entry is not None:
            found[entry] = item.get("state", {}).get("S", "")
    return found


def ledger_entry(key: str) -> tuple[str, str] | None:
    """(route id, log id) of a notification record's key (``Ledger.key``), None for any other item."""
    kind, _, rest = key.partition("#")
    route, _, log_id = rest.rpartition("#")
    return (route, log_id) if kind == "notify" and route else None
