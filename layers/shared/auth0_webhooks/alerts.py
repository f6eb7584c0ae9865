"""Slack alerts: failures, dead letters, a failed poller run, alarms, and (if asked) success.

Slack being down never breaks delivery: a failed post is logged (without the URL) and
dropped, and each post has a deadline on its whole exchange. The deliverer posts through an
:class:`AlertOutbox`: one background thread, off the delivery path, with a bounded total time
per invocation; what it could not send in that time is counted as held back. A token
bucket per container keeps an outage from producing thousands of messages; what it held
back is counted in the next message that goes out. Every text goes through :func:`redact`
with the secrets of the run (:func:`~auth0_webhooks.redaction.redact`), and endpoints are
shown by host only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass, field
from functools import cache

import requests
from aws_lambda_powertools import Logger

from . import clients
from .deadline import deadline, read_capped
from .env import Secret
from .redaction import host_of, redact

logger = Logger(child=True)

USERNAME = "auth0-webhooks"
RED, GREEN, AMBER = "#d13f42", "#7cd197", "#f2c744"
SLACK_TIMEOUT = 5.0  # one post, its whole exchange
SLACK_SECONDS_PER_INVOCATION = 5.0  # all of an invocation's posts together
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
        session = self.session or clients.http_session()
        try:
            with deadline(SLACK_TIMEOUT):
                reply = session.post(
                    self.url.reveal(), json=payload, timeout=SLACK_TIMEOUT, allow_redirects=False, stream=True
                )
                read_capped(reply)
        except Exception as error:  # never breaks delivery; the text of the error may hold the URL
            logger.warning("Slack post failed", extra={"error": type(error).__name__})
            return False
        if reply.status_code >= 300:
            logger.warning("Slack post refused", extra={"status": reply.status_code})
            return False
        return True

    def hold_back(self, count: int = 1) -> None:
        """Count alerts that were not sent; the next message that goes out says how many."""
        with self._lock:
            self.suppressed += count

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
        self,
        log_ids: Sequence[str],
        endpoint: str,
        status: int | None,
        error: str,
        outcome: str,
        route: str = "default",
    ) -> bool:
        """A permanent failure or a dead-lettered batch of one route; ``outcome`` says where the logs went."""
        fix = "WEBHOOK_URL" if route == "default" else f"route {route}'s destination.url"
        title = f"Webhook endpoint is gone (410): fix {fix}" if status == 410 else "Webhook delivery failed"
        return self.post(
            title,
            RED,
            {
                "Route": route,
                "Endpoint": host_of(endpoint) if endpoint else "none (unknown route)",
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


class AlertOutbox:
    """Sends one invocation's alerts from a background thread, so Slack never holds up delivery.

    Every post must end by ``budget_seconds`` after the outbox is made: a post that would start
    later is not sent, and :meth:`flush` waits for the rest at most that long. Alerts not sent
    are counted as held back (see :meth:`SlackAlerts.hold_back`).
    """

    def __init__(
        self,
        alerts: SlackAlerts,
        executor: Executor,
        budget_seconds: float = SLACK_SECONDS_PER_INVOCATION,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.alerts, self.executor, self.clock = alerts, executor, clock
        self.until = clock() + budget_seconds
        self.pending: list[Future[bool]] = []

    def send(self, alert: Callable[[], bool]) -> None:
        """Queue ``alert`` (a call of one of :class:`SlackAlerts`' messages); returns at once."""
        if self.alerts.url is not None:
            self.pending.append(self.executor.submit(self._run, alert))

    def _run(self, alert: Callable[[], bool]) -> bool:
        left = self.until - self.clock()
        if left <= 0:  # its turn came after the budget (an earlier post took it all)
            self.alerts.hold_back()
            logger.warning("Slack alerts not sent in time", extra={"held_back": 1})
            return False
        with deadline(left):
            return alert()

    def flush(self, seconds: float) -> int:
        """Wait at most ``seconds`` (and never past the budget) for the queued alerts; how many were sent."""
        timeout = max(0.0, min(seconds, self.until - self.clock()))
        done, late = wait(self.pending, timeout=timeout)
        cancelled = sum(1 for future in late if future.cancel())
        if cancelled:
            self.alerts.hold_back(cancelled)
            logger.warning("Slack alerts not sent in time", extra={"held_back": cancelled})
        self.pending = []
        return sum(1 for future in done if not future.exception() and future.result())


def _shown_ids(log_ids: Sequence[str]) -> str:
    shown = ", ".join(log_ids[:MAX_IDS_SHOWN])
    more = len(log_ids) - MAX_IDS_SHOWN
    return f"{len(log_ids)}: {shown}" + (f" and {more} more" if more > 0 else "")


@cache
def slack_for(url: Secret | None, send_success: bool, secrets: tuple[str, ...] = ()) -> SlackAlerts:
    """The container's notifier for this URL, so its rate limit holds across invocations."""
    return SlackAlerts(url, send_success, secrets)
