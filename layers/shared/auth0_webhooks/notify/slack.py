"""Post one per-event message to a Slack incoming webhook (a security channel), from a template.

Values from the log are escaped for Slack's mrkdwn (``&``, ``<``, ``>``) before rendering, so
``<!channel>`` or ``<https://evil|click>`` typed into a log field stays text.

>>> escape_values({"user": {"name": "<!channel> & co"}, "risk": {"new_device": True}})
{'user': {'name': '&lt;!channel&gt; &amp; co'}, 'risk': {'new_device': True}}
"""

from __future__ import annotations

from typing import Any

import requests

from .templates import Rendered

SLACK_TIMEOUT_SECONDS = 5.0
USERNAME = "auth0-webhooks"


class PostError(Exception):
    """Slack did not take the message; ``retryable`` for 429, 5xx and network errors."""

    def __init__(self, reason: str, retryable: bool) -> None:
        self.reason, self.retryable = reason, retryable
        super().__init__(reason)


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_values(value: Any) -> Any:
    """A copy of ``value`` with every string escaped for mrkdwn."""
    if isinstance(value, dict):
        return {key: escape_values(item) for key, item in value.items()}
    return escape(value) if isinstance(value, str) else value


def payload(message: Rendered) -> dict[str, Any]:
    """The incoming-webhook body: the subject in bold, then the text part."""
    return {"username": USERNAME, "text": f"*{message.subject}*\n{message.text}".rstrip()}


def post(session: requests.Session, url: str, message: Rendered) -> None:
    """POST ``message`` to ``url`` (a secret: it is never shown in errors)."""
    try:
        reply = session.post(url, json=payload(message), timeout=SLACK_TIMEOUT_SECONDS)
    except requests.RequestException as error:
        raise PostError(f"Slack unreachable: {type(error).__name__}", retryable=True) from None
    if reply.status_code == 200:
        return
    retryable = reply.status_code == 429 or reply.status_code >= 500
    raise PostError(f"Slack answered {reply.status_code}", retryable=retryable)
