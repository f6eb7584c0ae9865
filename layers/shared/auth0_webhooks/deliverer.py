"""The deliverer: SQS records → each route's destination (webhook, EventBridge), with partial batch failures.

(Over 300 lines on purpose: every path a record can take, to delivered, retried or
dead-lettered, is in this one file, so that "nothing is lost" can be checked by reading it.
Parsing is in ``records``, the routes in ``delivery_routes``, the requests in ``destinations``, Slack in ``alerts``.)

Each record's ``route`` attribute picks its destination (absent: ``default``; a route this
deliverer does not know: the logs are dead-lettered with the reason ``unknown route <id>``).
Each route's logs travel in messages of their own, so a route's retries, backoff and dead
letters never touch another route's logs; each route has its own ``concurrency`` slots (and
``max_per_second`` pace) over the shared thread pool, so a slow receiver cannot take them all.
For each record (a JSON array of logs from the poller):

- every log delivered → success;
- a permanent failure (a 4xx other than 408/425/429, a 3xx) → the logs go to the dead-letter
  queue at once with the status and reason, Slack hears of it, and the record succeeds;
- a failure that may pass (408, 425, 429, 5xx, timeout, connection error) → the record's
  visibility timeout is set from its attempt count (exponential, jittered, at least
  ``Retry-After``) and the record is reported failed, so SQS offers it again later. In
  single mode, when only some logs failed, just those are queued again (with a delay)
  and the record succeeds. After ``MAX_RECEIVE_COUNT`` attempts the logs go to the
  dead-letter queue with the last error;
- a record that is not a JSON array of logs → the dead-letter queue with the reason.

Before a record's logs go to their route, the route's breaker (``health``) is asked: a paused
route's record is held (sent again as a new message, attempts unchanged, delayed by the probe
interval; the record succeeds: it never nears the dead-letter queue); one record at a time is
sent as the probe. Each record's sends count once in the breaker; the logs that failed on a
send that paused the route, or on a probe that failed, are held too, never dead-lettered.
Pauses, resumes and hourly reminders go to Slack. Each route's delivery record is written
once at the end of the invocation (``health.route_health``).

A notification (``email``, ``slack`` routes) whose user look-up Auth0 asked to retry later (an
outcome of cause ``upstream``) waits: its logs are put back as a hold is, attempts unchanged,
delayed by the look-up's reset (at most SQS's 900 s); it never nears the dead-letter queue and
the route's breaker does not count it.

Records are handled concurrently; at most a route's ``concurrency`` requests are in flight to it.
Each POST checks the time when its turn comes and ends (its whole exchange) before the
invocation's deadline less ``RESERVE_SECONDS``; a log not sent for lack of time comes back
later without counting as an attempt. A record is judged by its body, never by its message
attributes. Any other error in a record is logged at WARNING with its kind and the record is
dead-lettered with that reason (an SQS error instead makes SQS offer the record again).
Slack alerts go through an :class:`AlertOutbox`, off the delivery path.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache, partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import BotoCoreError, ClientError

from . import clients
from .alerts import SLACK_SECONDS_PER_INVOCATION, AlertOutbox, SlackAlerts, slack_for
from .dead_letters import ATTEMPTS, MALFORMED_REASON, ROUTE, dead_letter_body, dead_letter_message, why
from .delivery_routes import routing_for
from .destinations import DUPLICATE_ID, Destination
from .errors import ConfigError, QueueError
from .health.breaker import Admit, Breaker, BreakerEvent, BreakerStore
from .health.holds import hold, hold_delay
from .health.record import RecordStore
from .health.route_health import RouteHealth, event_text
from .log_entry import LogEntry, log_ids, oldest_time
from .messages import REPLAYED, Message, logs_message
from .metrics import ROUTES_PAUSED, SHORTFALLS
from .queue import LogQueue
from .records import attempt_of, encode, parse, replayed, route_of
from .redaction import redact
from .settings import DelivererSettings
from .webhook import MIN_POST_SECONDS, NOT_SENT, Backoff, Outcome

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = Logger(child=True)

MAX_DELAY_SECONDS = 900  # SQS DelaySeconds cap, for logs queued again in single mode
DEFAULT_BACKOFF = Backoff()
RESERVE_SECONDS = 2.0  # kept at the end of an invocation for the SQS calls after the last POST
SLACK_FLUSH_RESERVE_SECONDS = 0.5  # the invocation returns at least this long before its deadline
__all__ = ["DUPLICATE_ID", "Deliverer", "DeliveryStats", "build_deliverer"]


class RetryLater(Exception):
    """The record failed in a way that may pass; SQS will offer it again."""


@dataclass
class DeliveryStats:
    """What one invocation did, for metrics, the log line and the Slack summary."""

    delivered: int = 0
    failed: int = 0  # logs whose POST failed this time (retried or dead-lettered)
    retried: int = 0
    dead_lettered: int = 0
    held: int = 0  # logs put back to wait while their route is paused
    routes_paused: int = 0  # routes seen paused in this invocation (published only when some are)
    shortfalls: int = 0  # breaker or record calls not made (no time, a conflict, a failed write)
    requests: int = 0
    latencies: list[float] = field(default_factory=list)  # per record: oldest delivered log's age
    last_log_id: str | None = None
    notifications: dict[str, int] = field(default_factory=dict)  # NotificationsSent, …: the email/slack routes'

    def metrics(self) -> dict[str, float]:
        return {
            "LogsDelivered": self.delivered,
            "LogsFailed": self.failed,
            "LogsRetried": self.retried,
            "LogsDeadLettered": self.dead_lettered,
            "LogsHeld": self.held,
            "WebhookRequests": self.requests,
            **({ROUTES_PAUSED: self.routes_paused} if self.routes_paused else {}),
            **({SHORTFALLS: self.shortfalls} if self.shortfalls else {}),
            **{name: count for name, count in self.notifications.items() if count},
        }


class Deliverer:
    """Delivers one SQS event. Build one per invocation from cached clients (:func:`build_deliverer`)."""

    def __init__(
        self,
        destinations: Mapping[str, Destination],
        queue: LogQueue,
        sqs: SQSClient,
        executor: ThreadPoolExecutor,
        max_receive_count: int,
        alerts: SlackAlerts,
        backoff: Backoff = DEFAULT_BACKOFF,
        jitter: Callable[[], float] = lambda: random.uniform(0.5, 1.0),
        health: RouteHealth | None = None,
    ) -> None:
        self.destinations, self.queue, self.sqs, self.executor = destinations, queue, sqs, executor
        self.max_receive_count = max_receive_count
        self.slots: dict[str, asyncio.Semaphore] = {}  # per route, made in the invocation's event loop
        self.alerts, self.backoff, self.jitter = alerts, backoff, jitter
        self.stats = DeliveryStats()
        self.time_left: Callable[[], float] = lambda: float("inf")
        self.outbox = AlertOutbox(alerts, _slack_executor())
        self.health = health or RouteHealth(None, None)

    def process(self, event: dict[str, Any], time_left: Callable[[], float] | None = None) -> dict[str, Any]:
        """Handle every record; the partial batch response lists the ones SQS should offer again.

        Raises :class:`ConfigError` when a route's timeout (``WEBHOOK_TIMEOUT`` for ``default``)
        leaves no time in the function.
        """
        self.time_left = time_left or self.time_left
        total = self.time_left()
        for destination in self.destinations.values():
            if total < destination.timeout + RESERVE_SECONDS:
                raise ConfigError(
                    destination.timeout_setting,
                    f"at most the function's timeout less {RESERVE_SECONDS:g}s (this invocation had {total:.1f}s)",
                    got=f"{destination.timeout:g}",
                )
        self.outbox = AlertOutbox(self.alerts, _slack_executor(), min(SLACK_SECONDS_PER_INVOCATION, total / 4))
        processor = AsyncBatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
        response = async_process_partial_response(event, record_handler=self.handle, processor=processor)
        told = self.health.flush(lambda: self.time_left() - SLACK_FLUSH_RESERVE_SECONDS)
        for change in told:  # a pause the invocation's counts add up to once written with others'
            if change.route in self.destinations:
                self._tell(change, self.destinations[change.route], self._waiting())
        self.stats.routes_paused = len(self.health.paused)
        self.stats.shortfalls = self.health.shortfalls + _taken_shortfalls(self.destinations.values())
        self.stats.notifications = _taken_notifications(self.destinations.values())
        self.outbox.send(partial(self.alerts.success, self.stats.delivered, self.stats.last_log_id))
        self.outbox.flush(self.time_left() - SLACK_FLUSH_RESERVE_SECONDS)
        return dict(response)

    async def handle(self, record: SQSRecord) -> None:
        """One record; no error escapes but :class:`RetryLater`, and every failure is logged at WARNING."""
        try:
            await self._handle(record)
        except RetryLater as retry:
            logger.warning("record handed back to SQS", extra={"message_id": record.message_id, "reason": str(retry)})
            raise
        except (BotoCoreError, ClientError, QueueError) as error:  # SQS itself: may pass
            reason = f"SQS call failed ({type(error).__name__})"
            logger.warning("record handed back to SQS", extra={"message_id": record.message_id, "reason": reason})
            raise RetryLater(reason) from None
        except Exception as error:  # a defect or an input nothing handles: it will never pass
            reason = f"could not be handled: {type(error).__name__}"  # the text may quote the log
            logger.warning("record failed", extra={"message_id": record.message_id, "reason": reason})
            self.stats.failed += 1
            try:
                await self._dead_letter_raw(record, reason, route_of(record))
            except Exception as dead:
                raise RetryLater(f"{reason}; and could not be dead-lettered ({type(dead).__name__})") from None

    async def _handle(self, record: SQSRecord) -> None:
        attempt = attempt_of(record)
        route = route_of(record)
        parsed = parse(record.body)
        if parsed is None:
            await self._dead_letter_raw(record, "malformed message: not a JSON array of log entries", route)
            return
        destination = self.destinations.get(route)
        decision = Admit.DELIVER
        if destination is not None and parsed.logs:
            decision = await self._admit(destination)
            if decision is Admit.HOLD:  # the malformed entries wait with it, to be dead-lettered once
                await self._hold(record, destination, attempt, parsed.logs, whole=True)
                return
        for entry in parsed.malformed:
            await self._dead_letter_entry(record, entry, MALFORMED_REASON, attempt, route)
        if not parsed.logs:
            return
        if destination is None:  # not this deliverer's: kept, with the route, for redrive once it is known
            await self._dead_letter(record, parsed.logs, f"unknown route {route}", None, attempt, route)
            self.stats.failed += len(parsed.logs)
            self._alert(route, "", parsed.logs, None, f"unknown route {route}", "sent to the dead-letter queue")
            return
        started = time.monotonic()
        outcomes, paused = await self._post(
            destination, parsed.logs, probe=decision is Admit.PROBE, replayed=replayed(record)
        )
        latency_ms = int((time.monotonic() - started) * 1000)
        delivered = [entry for entry, outcome in outcomes if outcome.ok]
        permanent = [(entry, outcome) for entry, outcome in outcomes if not outcome.ok and not outcome.retryable]
        retryable = [(entry, outcome) for entry, outcome in outcomes if outcome.retryable]
        waiting = [(entry, outcome) for entry, outcome in retryable if outcome.cause == "upstream"]  # on Auth0
        transient = [(entry, outcome) for entry, outcome in retryable if outcome.cause != "upstream"]
        ids = parsed.ids if len(delivered) == len(parsed.logs) else log_ids(delivered)  # all delivered: as parsed
        self._count(delivered, ids, sum(1 for _, o in permanent + transient if o.sent), destination, latency_ms)
        if paused and (permanent or transient or waiting):  # the route is paused: its failed logs wait for the probe
            failed = [entry for entry, outcome in outcomes if not outcome.ok]
            await self._hold(record, destination, attempt, failed, whole=not delivered and not parsed.malformed)
            return
        for (status, error), entries in _by_failure(permanent).items():
            reason = f"webhook refused it: {error}" if status is not None else error  # else never sent
            await self._dead_letter(record, entries, reason, status, attempt, route)
            self._alert(route, destination.endpoint, entries, status, error, "sent to the dead-letter queue")
        if waiting:
            whole = len(waiting) == len(outcomes) and not parsed.malformed
            await self._wait(record, destination, attempt, waiting, whole)
        if transient:
            whole = len(transient) == len(outcomes) and not parsed.malformed
            await self._retry(record, destination, attempt, transient, whole)

    def _alert(
        self, route: str, endpoint: str, entries: list[LogEntry], status: int | None, error: str, outcome: str
    ) -> None:
        alert = partial(self.alerts.delivery_failed, log_ids(entries), endpoint, status, error, outcome, route)
        self.outbox.send(alert)

    async def _admit(self, destination: Destination) -> Admit:
        """The route's breaker says whether to send, probe or hold; its reminders go to Slack."""
        decision = await asyncio.to_thread(self.health.admit, destination.route_id, self._health_seconds)
        await self._announce(decision.events, destination)
        return decision.action

    async def _hold(
        self, record: SQSRecord, destination: Destination, attempt: int, entries: list[LogEntry], whole: bool
    ) -> None:
        """Put the record (or only ``entries``) back to wait for the route's probe; not an attempt."""
        route, seconds = destination.route_id, self.health.hold_seconds
        if whole:
            await asyncio.to_thread(hold, self.sqs, self.queue.queue_url, record, seconds)
        else:
            again = _message(
                entries, {ATTEMPTS: str(attempt - 1), ROUTE: route, **_kept(record)}, delay=hold_delay(seconds)
            )
            await asyncio.to_thread(self.queue.send, [again])
        self.stats.held += len(entries)
        self.health.count(route, destination.endpoint, held=len(entries))
        logger.warning(
            "logs held: their route is paused",
            extra={"message_id": record.message_id, "log_count": len(entries), "route": self._safe(route)},
        )

    async def _wait(
        self,
        record: SQSRecord,
        destination: Destination,
        attempt: int,
        waiting: list[tuple[LogEntry, Outcome]],
        whole: bool,
    ) -> None:
        """Put logs whose notification waits on Auth0 back, delayed by its reset; not an attempt."""
        entries = [entry for entry, _ in waiting]
        delay = hold_delay(max((outcome.retry_after or 0.0) for _, outcome in waiting))
        if whole:
            await asyncio.to_thread(hold, self.sqs, self.queue.queue_url, record, delay)
        else:
            extra = {ATTEMPTS: str(attempt - 1), ROUTE: destination.route_id, **_kept(record)}
            await asyncio.to_thread(self.queue.send, [_message(entries, extra, delay=delay)])
        self.health.count(destination.route_id, destination.endpoint, held=len(entries))
        logger.warning(
            "logs wait: their notification's user look-up must be retried later",
            extra={
                "message_id": record.message_id,
                "log_count": len(entries),
                "route": self._safe(destination.route_id),
                "delay": delay,
                "reason": self._safe(waiting[-1][1].error),
            },
        )

    async def _announce(self, events: Sequence[BreakerEvent], destination: Destination) -> None:
        """Each breaker event to the log (WARNING but a resume) and to Slack, with the queue's depth."""
        if not events:
            return
        waiting = await asyncio.to_thread(self._waiting)
        for event in events:
            self._tell(event, destination, waiting)

    def _tell(self, event: BreakerEvent, destination: Destination, waiting: int) -> None:
        """One breaker event to the log (WARNING but a resume) and to Slack's outbox."""
        shown_as = getattr(destination, "shown_as", None)  # a notification's: "SES as …", the Slack channel
        host = shown_as or urlsplit(destination.endpoint).netloc or destination.endpoint
        text = self._safe(event_text(event, host, waiting, answers_in_http=shown_as is None))
        extra = {"route": self._safe(event.route), "status": event.last_status, "event": event.kind}
        (logger.info if event.kind == "resumed" else logger.warning)(text, extra=extra)
        fields = {"Route": event.route, "Destination": host, "Waiting": f"{waiting} messages"}
        if event.kind != "resumed":
            status = event.last_status or ("no answer" if shown_as is None or not event.last_error else "-")
            fields |= {"Last status": str(status), "Last error": self._safe(event.last_error) or "-"}
        color = "good" if event.kind == "resumed" else "danger"
        self.outbox.send(partial(self.alerts.post, text, color, fields))

    def _health_seconds(self) -> float:
        """The time a breaker call may use: what is left but the reserve for the SQS calls after it."""
        return self.time_left() - RESERVE_SECONDS

    def _waiting(self) -> int:
        """Messages in the queue (visible and delayed), for an alert; -1 when SQS cannot say."""
        try:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self.queue.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
            )["Attributes"]
        except (BotoCoreError, ClientError) as error:
            logger.warning("queue depth unknown", extra={"error": type(error).__name__})
            return -1
        return sum(int(value) for value in attributes.values())

    async def _send(
        self, destination: Destination, group: list[LogEntry], replayed: bool = False
    ) -> list[tuple[LogEntry, Outcome]]:
        """One send, once the route has a free slot (and its pace allows); the time left is read then."""
        slots = self.slots.setdefault(destination.route_id, asyncio.Semaphore(destination.concurrency))
        async with slots:
            if destination.pace is not None:
                wait = destination.pace.reserve(self.time_left() - RESERVE_SECONDS - MIN_POST_SECONDS)
                if wait is None:  # its turn comes too late for this invocation: not an attempt
                    return [(entry, Outcome(False, True, None, NOT_SENT, sent=False)) for entry in group]
                await asyncio.sleep(wait)
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(self.executor, self._send_now, destination, group, replayed)
        self.stats.requests += 1 if any(outcome.sent for _, outcome in results) else 0
        return results

    def _send_now(
        self, destination: Destination, group: list[LogEntry], replayed: bool
    ) -> list[tuple[LogEntry, Outcome]]:
        """In a worker thread: the time left is read now, not when queued."""
        return destination.send(group, self.time_left() - RESERVE_SECONDS, replayed)

    async def _post(
        self, destination: Destination, logs: list[LogEntry], probe: bool = False, replayed: bool = False
    ) -> tuple[list[tuple[LogEntry, Outcome]], bool]:
        """Send the logs as the destination groups them; each log paired with the outcome of its send.

        The sends' outcomes go to the route's health (one of them to its breaker, as the probe when
        ``probe``); the flag says whether the route is paused after a failed send.
        """
        sends = (self._send(destination, group, replayed) for group in destination.groups(logs))
        results = await asyncio.gather(*sends)
        sent = [outcome for result in results for outcome in _per_send(result)]
        noted = await asyncio.to_thread(
            self.health.sent, destination.route_id, destination.endpoint, sent, probe, self._health_seconds
        )
        await self._announce(noted.events, destination)
        return [pair for result in results for pair in result], noted.paused

    async def _retry(
        self,
        record: SQSRecord,
        destination: Destination,
        attempt: int,
        failures: list[tuple[LogEntry, Outcome]],
        whole: bool,
    ) -> None:
        entries = [entry for entry, _ in failures]
        last = failures[-1][1]
        route = destination.route_id
        if not any(outcome.sent for _, outcome in failures):  # no time to try: not an attempt
            if whole:
                raise RetryLater(last.error)
            again = _message(entries, {ATTEMPTS: str(attempt - 1), ROUTE: route, **_kept(record)})
            await asyncio.to_thread(self.queue.send, [again])
            return
        if attempt >= self.max_receive_count:
            reason = f"gave up after {attempt} attempts: {last.error}"
            await self._dead_letter(record, entries, reason, last.status, attempt, route)
            self._alert(route, destination.endpoint, entries, last.status, last.error, "dead-lettered")
            return
        retry_after = max((outcome.retry_after or 0.0) for _, outcome in failures)
        delay = self.backoff.delay(attempt, retry_after, self.jitter())
        self.stats.retried += len(entries)
        self.health.count(route, destination.endpoint, retried=len(entries))
        logger.warning(
            "logs will be retried",
            extra={"log_count": len(entries), "attempt": attempt, "delay": delay, "reason": self._safe(last.error)},
        )
        if whole:
            await asyncio.to_thread(self._hide, record, delay)
            raise RetryLater(f"attempt {attempt} failed: {last.error}; next in about {delay}s")
        again = _message(
            entries, {ATTEMPTS: str(attempt), ROUTE: route, **_kept(record)}, delay=min(delay, MAX_DELAY_SECONDS)
        )
        await asyncio.to_thread(self.queue.send, [again])

    def _hide(self, record: SQSRecord, seconds: int) -> None:
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue.queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=seconds
            )
        except Exception as error:  # the record still comes back, only sooner
            logger.warning("could not set the retry delay", extra={"error": type(error).__name__})

    async def _dead_letter(
        self, record: SQSRecord, entries: list[LogEntry], reason: str, status: int | None, attempt: int, route: str
    ) -> None:
        reason = self._safe(reason)
        extra = {**why(reason, status, attempt), ROUTE: route, **_kept(record)}
        await asyncio.to_thread(self.queue.send, [_message(entries, extra, dead_letter=True)])
        self.stats.dead_lettered += len(entries)
        self._dead_lettered_on(route, len(entries))
        logger.warning(
            "logs dead-lettered",
            extra={"log_count": len(entries), "status": status, "reason": reason, "route": self._safe(route)},
        )

    async def _dead_letter_entry(self, record: SQSRecord, entry: Any, reason: str, attempt: int, route: str) -> None:
        message = dead_letter_message(entry, reason, attempt)
        message = replace(message, attributes={**message.attributes, ROUTE: route, **_kept(record)})
        await asyncio.to_thread(self.queue.send, [message])
        self.stats.dead_lettered += 1
        self._dead_lettered_on(route, 1)
        logger.warning("log dead-lettered", extra={"log_count": 1, "reason": reason, "route": self._safe(route)})

    async def _dead_letter_raw(self, record: SQSRecord, reason: str, route: str) -> None:
        message = dead_letter_body(record.body, reason, record.message_id)
        message = replace(message, attributes={**message.attributes, ROUTE: route, **_kept(record)})
        await asyncio.to_thread(self.queue.send, [message])
        self.stats.dead_lettered += 1
        self._dead_lettered_on(route, 1)
        logger.warning(
            "message dead-lettered",
            extra={"message_id": record.message_id, "reason": reason, "route": self._safe(route)},
        )
        destination = self.destinations.get(route)
        endpoint = destination.endpoint if destination is not None else ""
        self.outbox.send(
            partial(
                self.alerts.delivery_failed,
                [record.message_id],
                endpoint,
                None,
                reason,
                "sent to the dead-letter queue",
                route,
            )
        )

    def _dead_lettered_on(self, route: str, count: int) -> None:
        """Count dead letters in the record of a route this deliverer knows (an unknown one has none)."""
        destination = self.destinations.get(route)
        if destination is not None:
            self.health.count(route, destination.endpoint, dead_lettered=count)

    def _safe(self, text: str) -> str:
        """``text`` with the run's secrets masked and URLs cut to their host: fit for a log line."""
        return redact(text, self.alerts.secrets)

    def _count(
        self, delivered: list[LogEntry], ids: list[str], failed: int, destination: Destination, latency_ms: int
    ) -> None:
        """Count a record's delivered logs (``ids``: theirs, each counted once) and the age of the oldest."""
        self.stats.failed += failed
        if delivered:
            count, newest = len(set(ids)), max(ids)
            self._delivered(count, newest, oldest_time(delivered))
            self.health.delivered(destination.route_id, destination.endpoint, newest, latency_ms, count)

    def _delivered(self, count: int, last_log_id: str, oldest: float | None) -> None:
        self.stats.delivered += count
        self.stats.last_log_id = max(last_log_id, self.stats.last_log_id or "")
        if oldest is not None:
            self.stats.latencies.append(max(0.0, time.time() - oldest))


def _message(entries: Sequence[LogEntry], extra: dict[str, str], dead_letter: bool = False, delay: int = 0) -> Message:
    """Logs as the poller would queue them, plus ``extra`` attributes."""
    message = logs_message([encode(entry) for entry in entries], entries)
    return replace(message, attributes={**message.attributes, **extra}, dead_letter=dead_letter, delay_seconds=delay)


def _taken_shortfalls(destinations: Iterable[Destination]) -> int:
    """What destinations noted themselves and fell short of (a notification's ledger): taken once an invocation."""
    takes = (getattr(destination, "take_shortfalls", None) for destination in destinations)
    return sum(int(take()) for take in takes if callable(take))


def _taken_notifications(destinations: Iterable[Destination]) -> dict[str, int]:
    """The notifications the email and slack routes counted per metric (``NotificationsSent``, …), taken once."""
    totals: dict[str, int] = defaultdict(int)
    takes = (getattr(destination, "take_counts", None) for destination in destinations)
    for take in (take for take in takes if callable(take)):
        for name, count in take().items():
            totals[name] += int(count)
    return dict(totals)


def _kept(record: SQSRecord) -> dict[str, str]:
    """The record's attributes its logs keep wherever they go next (a retry, a hold, a dead letter):
    ``replayed``, so that a replayed log is POSTed as replayed however often it comes back."""
    return {REPLAYED: "true"} if replayed(record) else {}


def _per_send(result: list[tuple[LogEntry, Outcome]]) -> list[Outcome]:
    """The outcome of each request a group's send made (several logs share one), without the unsent."""
    seen: dict[int, Outcome] = {}
    for _, outcome in result:
        if outcome.sent:
            seen.setdefault(id(outcome), outcome)
    return list(seen.values())


def _by_failure(failures: list[tuple[LogEntry, Outcome]]) -> dict[tuple[int | None, str], list[LogEntry]]:
    groups: dict[tuple[int | None, str], list[LogEntry]] = defaultdict(list)
    for entry, outcome in failures:
        groups[(outcome.status, outcome.error)].append(entry)
    return groups


@cache
def _executor(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook")


@cache
def _slack_executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack")


def build_deliverer(settings: DelivererSettings, now: Callable[[], datetime] | None = None) -> Deliverer:
    """Wire settings to the container's routes, cached sessions, thread pool, SQS client and Slack notifier.

    ``now`` is the breaker's and the delivery record's clock (tests move it; the default is the wall clock).

    The pool has a thread for every slot of every route, so one route's slow sends never wait for threads.
    """
    routing = routing_for(settings)
    sqs = clients.sqs()
    health = RouteHealth(None, None)
    if settings.health_table:
        dynamodb = clients.dynamodb_within_deadline()  # its calls end within clients.DEADLINE_CALL_SECONDS
        clock = now or (lambda: datetime.now(UTC))
        breaker = Breaker(BreakerStore(dynamodb, settings.health_table), settings.breaker, clock)
        health = RouteHealth(breaker, RecordStore(dynamodb, settings.health_table), clock)
    return Deliverer(
        destinations=routing.destinations,
        queue=LogQueue(sqs, settings.queue_url, settings.dead_letter_queue_url),
        sqs=sqs,
        executor=_executor(sum(d.concurrency for d in routing.destinations.values())),
        max_receive_count=settings.max_receive_count,
        backoff=Backoff(base=settings.retry_base_seconds, cap=settings.retry_max_seconds),
        alerts=slack_for(settings.slack.url, settings.slack.send_success, settings.secrets() + routing.secrets),
        health=health,
    )
