"""Slack alerts: failures, dead letters, a failed poller run, alarms, and (if asked) success.

Slack being down never breaks delivery: a failed post is logged (without the URL) and
dropped. A token bucket per container keeps an outage from producing thousands of
messages; what it held back is counted in the next message that goes out. Every text goes
through :func:`~auth0_webhooks.redaction.redact` with the secrets of the run, and endpoints
are shown by host only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

import requests
from aws_lambda_powertools import Logger

from . import clients
from .env import Secret
from .redaction import host_of, redact

logger = Logger(child=True)

USERNAME = "auth0-webhooks"
RED, GREEN, AMBER = "#d13f42", "#7cd197", "#f2c744"
SLACK_TIMEOUT = 5.0
MAX_IDS_SHOWN = 10


@dataclass(frozen=True)
class SlackBudget:
    """At most ``burst`` messages at once, then one every ``refill_seconds`` (per container)."""

    burst: int = 5
    refill_seconds: float = 60.0


@dataclass
class SlackAlerts:
    """Posts to one Slack incoming webhook. Keep one per container (see :func:`slack_for`)."""

    url: Secret | None
    send_success: bool = False
    secrets: Sequence[str] = ()
    budget: SlackBudget = SlackBudget()
    session: requests.Session | None = None
    clock: Callable[[], float] = time.monotonic
    suppressed: int = 0
    _tokens: float = field(default=-1.0, repr=False)
    _at: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def post(
        self, title: str, color: str, fields: dict[str, str], text: str = "", links: dict[str, str] | None = None
    ) -> bool:
        """Send one message if the budget allows; never raises.

        ``fields`` are redacted; ``links`` are URLs this package built itself (a console link), shown whole.
        """
        if self.url is None or not self._take_token():
            return False
        with self._lock:
            held_back, self.suppressed = self.suppressed, 0
        if held_back:
            fields = {**fields, "Held back": f"{held_back} earlier alert(s) not sent (Slack rate limit)"}
        payload = {
            "username": USERNAME,
            "icon_emoji": ":rocket:",
            "attachments": [
                {
                    "color": color,
                    "fallback": redact(title, self.secrets),
                    "text": redact(f"*{title}*" + (f"\n{text}" if text else ""), self.secrets),
                    "fields": [
                        {"title": name, "value": redact(value, self.secrets), "short": len(value) < 40}
                        for name, value in fields.items()
                    ]
                    + [{"title": name, "value": url, "short": False} for name, url in (links or {}).items()],
                }
            ],
        }
        try:
            reply = (self.session or clients.http_session()).post(
                self.url.reveal(), json=payload, timeout=SLACK_TIMEOUT, allow_redirects=False
            )
        except requests.RequestException as error:
            logger.warning("Slack post failed", extra={"error": type(error).__name__})
            return False
        if reply.status_code >= 300:
            logger.warning("Slack post refused", extra={"status": reply.status_code})
            return False
        return True

    def _take_token(self) -> bool:
        with self._lock:
            now = self.clock()
            if self._tokens < 0:
                self._tokens, self._at = float(self.budget.burst), now
            self._tokens = min(self.budget.burst, self._tokens + (now - self._at) / self.budget.refill_seconds)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            self.suppressed += 1
            return False

    # -- the messages ------------------------------------------------------------------

    def delivery_failed(
        self, log_ids: Sequence[str], endpoint: str, status: int | None, error: str, outcome: str
    ) -> bool:
        """A permanent failure or a dead-lettered batch; ``outcome`` says where the logs went."""
        gone = status == 410
        title = "Webhook endpoint is gone (410): fix WEBHOOK_URL" if gone else "Webhook delivery failed"
        return self.post(
            title,
            RED,
            {
                "Endpoint": host_of(endpoint),
                "Status": str(status) if status is not None else "no response",
                "Logs": _shown_ids(log_ids),
                "Outcome": outcome,
                "Error": error,
            },
        )

    def poller_failed(self, error: str, checkpoint: str | None) -> bool:
        return self.post("Poller run failed", RED, {"Error": error, "Checkpoint": checkpoint or "none yet"})

    def success(self, delivered: int, last_log_id: str | None) -> bool:
        if not self.send_success or delivered == 0:
            return False
        return self.post("Logs delivered", GREEN, {"Logs delivered": str(delivered), "Last log": last_log_id or "-"})

    def alarm(self, name: str, state: str, reason: str, link: str) -> bool:
        color = {"ALARM": RED, "OK": GREEN}.get(state, AMBER)
        return self.post(f"{name} is {state}", color, {"Reason": reason}, links={"Console": link})


def _shown_ids(log_ids: Sequence[str]) -> str:
    shown = ", ".join(log_ids[:MAX_IDS_SHOWN])
    more = len(log_ids) - MAX_IDS_SHOWN
    return f"{len(log_ids)}: {shown}" + (f" and {more} more" if more > 0 else "")


@cache
def slack_for(url: Secret | None, send_success: bool, secrets: tuple[str, ...] = ()) -> SlackAlerts:
    """The container's notifier for this URL, so its rate limit holds across invocations."""
    return SlackAlerts(url, send_success, secrets)
