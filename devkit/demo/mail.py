"""The demo's notification route: an ``email`` route for ``scp`` and ``limit_wc`` logs, and the mails it sent.

moto's SES keeps every message it was asked to send; :func:`sent_mails` reads them through moto's
API (``/moto-api/data.json``), and :func:`write_last` writes the last few as HTML files a person
can open. The local tenant's users get profiles from the log factory (:meth:`LogFactory.profiles`),
so the deliverer's look-ups find the user each log is about.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

SENDER_ADDRESS = "security@acme.test"
SENDER = f"Acme Security <{SENDER_ADDRESS}>"
TEMPLATE_FOR = {"scp": "password-changed", "limit_wc": "account-blocked"}  # route notify-<template> each
KEEP_LAST = 3  # mails written as HTML files
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
    written = []
    for number, mail in enumerate(mails[-count:] if count else [], start=1):
        path = folder / f"mail-{number}.html"
        head = f"<p><b>To:</b> {html.escape(mail.to)}<br><b>Subject:</b> {html.escape(mail.subject)}</p><hr>\n"
        path.write_text(head + mail.body, encoding="utf-8")
        written.append(path)
    return written
