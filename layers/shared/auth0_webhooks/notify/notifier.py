"""One notification for one log on one route: claim, look up, render, limit, send, record.

:meth:`Notifier.notify` never raises for a single log: it returns an :class:`Outcome` the caller
acts on. ``sent``, ``duplicate``, ``skipped`` and ``held`` are done with; ``wait`` means "Auth0's
user look-up said try later (a 429, a 5xx, no token): put the log back for ``retry_after`` seconds
without spending an attempt"; ``retry`` means "put the log back and try after ``retry_after`` seconds"
(the queue's retries end in its dead-letter queue); ``failed`` means "dead-letter it now, with ``reason``".
Only the destination's own answers (SES's, Slack's) are :attr:`Outcome.answered`: only those tell of
the route's health. Every outcome but ``sent`` and
``duplicate`` is logged with its reason (route, log id, log type; never an address or content),
and each has a metric name (:attr:`Outcome.metric`) for the caller to count.

Nothing is sent that there is no time to record: a send starts only with :data:`SEND_AND_RECORD_SECONDS`
left (its own time, and the ledger's calls before and after it); otherwise the log is retried and its
claim released. A ledger call that fails or finds no time leaves the record to its lease (a WARNING);
both mark the outcome a ``shortfall`` for the caller's ``Shortfalls`` metric.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import requests
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from ..budget import OutOfTime
from ..metrics import (
    NOTIFICATIONS_DELAYED,
    NOTIFICATIONS_FAILED,
    NOTIFICATIONS_HELD,
    NOTIFICATIONS_SENT,
    NOTIFICATIONS_SKIPPED,
)
from . import slack
from .destinations import Destination, EmailDestination, SlackDestination
from .event import Recipient, build_event
from .ledger import CALL_SECONDS as LEDGER_CALL_SECONDS
from .ledger import Claim, Ledger, recipient_key
from .recipients import Lookup, UserDirectory
from .ses import Email, SendError, SesMailer
from .templates import Rendered, TemplateError, TemplateStore

logger = Logger(child=True)

Status = Literal["sent", "duplicate", "skipped", "held", "wait", "retry", "failed"]
# the deliverer's log line has them all; metrics.NOTIFICATIONS are published to CloudWatch
METRICS: dict[str, str] = {
    "sent": NOTIFICATIONS_SENT,
    "duplicate": "NotificationsDuplicate",
    "skipped": NOTIFICATIONS_SKIPPED,
    "held": NOTIFICATIONS_HELD,  # the per-recipient limit held it back
    "wait": NOTIFICATIONS_DELAYED,  # Auth0's user look-up said try later: put back, not an attempt
    "retry": "NotificationsRetried",
    "failed": NOTIFICATIONS_FAILED,
}
# do not start a look-up or a send with less time than this: each takes at most
# LookupPolicy's connect + read timeouts (6 s) or ses.SES_CONFIG's (7 s, one attempt)
MIN_SECONDS_LEFT = 8.0
# a send starts only with the time for the recipient's count, the send, and its record after it
SEND_AND_RECORD_SECONDS = LEDGER_CALL_SECONDS + MIN_SECONDS_LEFT + LEDGER_CALL_SECONDS
DEADLINE_RETRY_SECONDS = 1.0
NO_TIME_TO_RECORD = "too close to the deadline to send and record it"


@dataclass(frozen=True)
class Outcome:
    status: Status
    reason: str = ""
    retry_after: float = 0.0
    shortfall: bool = False  # the ledger was not written as it should have been (no time, or it failed)
    answered: bool = False  # SES or Slack answered: the outcome tells of the destination's health

    @property
    def metric(self) -> str:
        return METRICS[self.status]


@dataclass(frozen=True)
class Preview:
    """What :meth:`Notifier.notify` would send for a log, without sending it."""

    route_id: str
    to: str  # the address (e-mail) or "slack"; "" when nobody would get it
    subject: str
    text: str
    html: str
    would_send: bool
    reason: str = ""  # why not, when ``would_send`` is False


class Notifier:
    """Sends the notifications of the routes in ``destinations`` (route id → destination)."""

    def __init__(
        self,
        destinations: Mapping[str, Destination],
        templates: TemplateStore,
        users: UserDirectory,
        ledger: Ledger,
        session: requests.Session,
        mailer: SesMailer | None = None,
        tenant: str = "",
    ) -> None:
        self.destinations, self.templates, self.users, self.ledger = destinations, templates, users, ledger
        self.session, self.mailer, self.tenant = session, mailer or SesMailer(), tenant

    # -- sending ------------------------------------------------------------------------

    def notify(self, route_id: str, log: Mapping[str, Any], time_left: Callable[[], float]) -> Outcome:
        """Notify for ``log`` on route ``route_id`` at most once, however often it is called.

        ``time_left()`` is the invocation's remaining seconds: no look-up or send starts without
        :data:`MIN_SECONDS_LEFT` of them.
        """
        log_id = (log.get("log_id") or log.get("_id")) if isinstance(log, Mapping) else None
        outcome = self._notify(route_id, log, log_id, time_left)
        self._report(route_id, log, log_id, outcome)
        return outcome

    def _notify(self, route_id: str, log: Any, log_id: Any, time_left: Callable[[], float]) -> Outcome:
        destination = self.destinations.get(route_id)
        if destination is None:
            return Outcome("failed", f"no email or slack destination for route {route_id!r}")
        if not isinstance(log_id, str) or not log_id:
            return Outcome("failed", "malformed log: no log_id")
        if time_left() < MIN_SECONDS_LEFT:
            return Outcome("retry", "too close to the deadline to start", DEADLINE_RETRY_SECONDS)
        try:
            claim = self.ledger.claim(route_id, log_id, time_left)
        except (ClientError, BotoCoreError) as error:
            return Outcome("retry", f"the ledger is unavailable: {type(error).__name__}", DEADLINE_RETRY_SECONDS)
        except OutOfTime:
            return Outcome("retry", "too close to the deadline to start", DEADLINE_RETRY_SECONDS)
        if claim.status == "done":
            return Outcome("duplicate", f"already {claim.state}")
        if claim.status == "busy":
            return Outcome("retry", "another delivery of this log is sending it", claim.retry_after)
        try:
            outcome = self._deliver(route_id, destination, log, time_left)
        except Exception as error:  # one log never breaks the batch; the record is released below
            outcome = Outcome("retry", f"unexpected {type(error).__name__}", DEADLINE_RETRY_SECONDS)
        return self._record(route_id, log_id, claim, outcome, time_left)

    def _record(
        self, route_id: str, log_id: str, claim: Claim, outcome: Outcome, time_left: Callable[[], float]
    ) -> Outcome:
        """Finish or release the claim. If DynamoDB fails here or there is no time, the lease runs out instead
        (a WARNING, and the outcome is a shortfall)."""
        try:
            if outcome.status in ("sent", "held", "skipped"):
                self.ledger.finish(route_id, log_id, claim, outcome.status, time_left)
            else:  # retry or failed: a later attempt (or a redrive from the dead-letter queue) may send it
                self.ledger.release(route_id, log_id, claim, time_left)
        except (ClientError, BotoCoreError, OutOfTime) as error:
            logger.warning(
                "notification record not updated; its lease will run out",
                extra={"route": route_id, "log_id": log_id, "outcome": outcome.status, "error": type(error).__name__},
            )
            return replace(outcome, shortfall=True)
        return outcome

    def _deliver(
        self, route_id: str, destination: Destination, log: Mapping[str, Any], time_left: Callable[[], float]
    ) -> Outcome:
        found = self.users.lookup(str(log.get("user_id") or ""))
        if found.status == "retry":  # Auth0's trouble, not the destination's: the log waits
            return Outcome("wait", found.reason, found.retry_after)
        if found.status == "failed":
            return Outcome("failed", found.reason)
        if isinstance(destination, SlackDestination):
            if time_left() < MIN_SECONDS_LEFT + LEDGER_CALL_SECONDS:
                return Outcome("retry", NO_TIME_TO_RECORD, DEADLINE_RETRY_SECONDS, shortfall=True)
            return self._post(destination, log, found)
        recipient = found.recipient
        why_not = _why_not_mail(destination, found)
        if why_not or recipient is None:
            return Outcome("skipped", why_not)
        message = self._render(destination.template, build_event(log, recipient, self.tenant))
        if isinstance(message, Outcome):
            return message
        if time_left() < SEND_AND_RECORD_SECONDS:
            return Outcome("retry", NO_TIME_TO_RECORD, DEADLINE_RETRY_SECONDS, shortfall=True)
        key = recipient_key(recipient.email)
        if not self.ledger.allow(key, time_left):
            return Outcome("held", f"the recipient had {self.ledger.policy.per_recipient} mails this window")
        email = Email(
            destination.sender,
            recipient.email,
            message.subject,
            message.text,
            message.html,
            tags={"route": route_id, "log_type": str(log.get("type") or "")},
        )
        try:
            self.mailer.send(email)
        except SendError as error:
            refunded = self._refund(key, time_left)
            status: Status = "retry" if error.retryable else "failed"
            delay = 60.0 if error.retryable else 0.0
            return Outcome(status, error.reason, delay, shortfall=not refunded, answered=True)
        return Outcome("sent", answered=True)

    def _refund(self, key: str, time_left: Callable[[], float]) -> bool:
        """Give the recipient's count back; without time or DynamoDB it stays taken until its window ends."""
        try:
            self.ledger.refund(key, time_left)
        except (ClientError, BotoCoreError, OutOfTime) as error:
            logger.warning("a recipient's mail count not given back", extra={"error": type(error).__name__})
            return False
        return True

    def _post(self, destination: SlackDestination, log: Mapping[str, Any], found: Lookup) -> Outcome:
        event = build_event(log, found.recipient, self.tenant)
        message = self._render(destination.template, event, text_event=slack.escape_values(event))
        if isinstance(message, Outcome):
            return message
        try:
            slack.post(self.session, destination.url, message)
        except slack.PostError as error:
            status: Status = "retry" if error.retryable else "failed"
            return Outcome(status, error.reason, 60.0 if error.retryable else 0.0, answered=True)
        return Outcome("sent", answered=True)

    def _render(
        self, template: str, event: dict[str, Any], text_event: dict[str, Any] | None = None
    ) -> Rendered | Outcome:
        try:
            message = self.templates.validate(template).render(event, text_event)
        except TemplateError as error:
            return Outcome("failed", str(error))
        if not message.subject:
            return Outcome("skipped", f"template {template!r} rendered no subject for this log (it chose not to send)")
        return message

    def _report(self, route_id: str, log: Any, log_id: Any, outcome: Outcome) -> None:
        fields = {
            "route": route_id,
            "log_id": log_id if isinstance(log_id, str) else None,
            "log_type": log.get("type") if isinstance(log, Mapping) else None,
            "outcome": outcome.status,
            "reason": outcome.reason,
        }
        if outcome.status in ("wait", "retry", "failed", "held"):
            logger.warning("notification not sent", extra=fields)
        else:
            logger.info("notification", extra=fields)

    # -- preview ------------------------------------------------------------------------

    def preview(self, route_id: str, log: Mapping[str, Any]) -> Preview:
        """Render exactly what :meth:`notify` would send for ``log``, with no claim and no send."""
        destination = self.destinations.get(route_id)
        if destination is None:
            return Preview(route_id, "", "", "", "", False, f"no email or slack destination for route {route_id!r}")
        found = self.users.lookup(str(log.get("user_id") or ""))
        if found.status in ("retry", "failed"):
            return Preview(route_id, "", "", "", "", False, found.reason)
        event = build_event(log, found.recipient, self.tenant)
        if isinstance(destination, SlackDestination):
            message = self._render(destination.template, event, slack.escape_values(event))
            if isinstance(message, Outcome):
                return Preview(route_id, "", "", "", "", False, message.reason)
            return Preview(route_id, "slack", message.subject, message.text, message.html, True)
        message = self._render(destination.template, event)
        if isinstance(message, Outcome):
            return Preview(route_id, "", "", "", "", False, message.reason)
        why_not = _why_not_mail(destination, found)
        to = found.recipient.email if found.recipient else ""
        return Preview(route_id, to, message.subject, message.text, message.html, not why_not, why_not)


def _why_not_mail(destination: EmailDestination, found: Lookup) -> str:
    recipient: Recipient | None = found.recipient
    if found.status == "not_found" or recipient is None:
        return f"no recipient: {found.reason or 'user not found'}"
    if not recipient.email:
        return "the user has no e-mail address"
    if not recipient.email_verified and not destination.unverified_ok:
        return "the user's e-mail address is not verified (the route does not set send_to_unverified)"
    return ""
