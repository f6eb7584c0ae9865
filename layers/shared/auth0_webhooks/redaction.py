"""Redaction: what of a secret, a URL or an error may be shown in logs, alerts and reports.

Secrets are masked, URLs cut to their scheme and host (their path and query often hold a
token), and an error is described without the URL a ``requests`` exception carries.
Alerts, the webhook client, the poller and the operator tools all go through here.

>>> redact("sent Bearer abc123 to https://user:pw@hooks.example.com/x?key=1", ["Bearer abc123"])
'sent **** to https://hooks.example.com/…'
>>> redact("see http://[::1 or https://h:99999/x")
'see http://(a URL) or https://(a URL)'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

import requests

_URL = re.compile(r"https?://[^\s'\"<>]+")


def host_of(url: str) -> str:
    """``https://host/…`` with no credentials, path or query: what an alert may show of a URL."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = parts.port
    except ValueError:  # a broken IPv6 host or port: show none of it
        return f"{'https' if url.startswith('https') else 'http'}://(a URL)"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}/…"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask known secret values, and cut every URL down to its scheme and host. Never raises."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "****")
    return _URL.sub(lambda match: host_of(match.group(0)), text)


def describe(error: BaseException) -> str:
    """A one-line description of an error that is safe to show (URLs cut to their host)."""
    if isinstance(error, requests.RequestException):  # its text holds the full URL
        return type(error).__name__
    return redact(f"{type(error).__name__}: {error}"[:500])
