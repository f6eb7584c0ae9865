"""The deliverer: SQS records → webhook POSTs, with partial batch failures.

(Over 300 lines on purpose: every path a record can take, to delivered, retried or
dead-lettered, is in this one file, so that "nothing is lost" can be checked by reading it.
Parsing is in ``records``, the request in ``delivery``, Slack in ``alerts``.)

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

Records are handled concurrently; at most ``WEBHOOK_CONCURRENT_CALLS`` POSTs are in flight.
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
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import BotoCoreError, ClientError

from . import clients
from .alerts import SLACK_SECONDS_PER_INVOCATION, AlertOutbox, SlackAlerts, slack_for
from .dead_letters import ATTEMPTS, dead_letter_body, dead_letter_message, why
from .errors import ConfigError, QueueError
from .log_entry import log_id, log_ids, log_time
from .messages import Message, logs_message
from .queue import LogQueue
from .records import attempt_of, encode, parse
from .redaction import redact
from .settings import DelivererSettings
from .signing import WebhookSigner, batch_id
from .webhook import Backoff, Outcome, WebhookClient

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = Logger(child=True)

MAX_DELAY_SECONDS = 900  # SQS DelaySeconds cap, for logs queued again in single mode
DEFAULT_BACKOFF = Backoff()
RESERVE_SECONDS = 2.0  # kept at the end of an invocation for the SQS calls after the last POST
SLACK_FLUSH_RESERVE_SECONDS = 0.5  # the invocation returns at least this long before its deadline
DUPLICATE_ID = "another log in this message has the same log_id and different content"


class RetryLater(Exception):
    """The record failed in a way that may pass; SQS will offer it again."""


@dataclass
class DeliveryStats:
    """What one invocation did, for metrics, the log line and the Slack summary."""

    delivered: int = 0
    failed: int = 0  # logs whose POST failed this time (retried or dead-lettered)
    retried: int = 0
    dead_lettered: int = 0
    requests: int = 0
    latencies: list[float] = field(default_factory=list)  # per record: oldest delivered log's age
    last_log_id: str | None = None

    def metrics(self) -> dict[str, float]:
        return {
            "LogsDelivered": self.delivered,
            "LogsFailed": self.failed,
            "LogsRetried": self.retried,
            "LogsDeadLettered": self.dead_lettered,
            "WebhookRequests": self.requests,
        }


class Deliverer:
    """Delivers one SQS event. Build one per invocation from cached clients (:func:`build_deliverer`)."""

    def __init__(
        self,
        webhook: WebhookClient,
        queue: LogQueue,
        sqs: SQSClient,
        executor: ThreadPoolExecutor,
        send_as_batch: bool,
        max_receive_count: int,
        alerts: SlackAlerts,
        backoff: Backoff = DEFAULT_BACKOFF,
        jitter: Callable[[], float] = lambda: random.uniform(0.5, 1.0),
    ) -> None:
        self.webhook, self.queue, self.sqs, self.executor = webhook, queue, sqs, executor
        self.send_as_batch, self.max_receive_count = send_as_batch, max_receive_count
        self.alerts, self.backoff, self.jitter = alerts, backoff, jitter
        self.stats = DeliveryStats()
        self.time_left: Callable[[], float] = lambda: float("inf")
        self.outbox = AlertOutbox(alerts, _slack_executor())

    def process(self, event: dict[str, Any], time_left: Callable[[], float] | None = None) -> dict[str, Any]:
        """Handle every record; the partial batch response lists the ones SQS should offer again.

        Raises :class:`ConfigError` when ``WEBHOOK_TIMEOUT`` leaves no time in the function.
        """
        self.time_left = time_left or self.time_left
        total = self.time_left()
        if total < self.webhook.timeout + RESERVE_SECONDS:
            raise ConfigError(
                "WEBHOOK_TIMEOUT",
                f"at most the function's timeout less {RESERVE_SECONDS:g}s (this invocation had {total:.1f}s)",
                got=f"{self.webhook.timeout:g}",
            )
        self.outbox = AlertOutbox(self.alerts, _slack_executor(), min(SLACK_SECONDS_PER_INVOCATION, total / 4))
        processor = AsyncBatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
        response = async_process_partial_response(event, record_handler=self.handle, processor=processor)
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
                await self._dead_letter_raw(record, reason)
            except Exception as dead:
                raise RetryLater(f"{reason}; and could not be dead-lettered ({type(dead).__name__})") from None

    async def _handle(self, record: SQSRecord) -> None:
        attempt = attempt_of(record)
        parsed = parse(record.body)
        if parsed is None:
            await self._dead_letter_raw(record, "malformed message: not a JSON array of log entries")
            return
        for entry in parsed.malformed:
            await self._dead_letter_entry(entry, "malformed log: no log_id or _id", attempt)
        if not parsed.logs:
            return
        as_is = record.body if parsed.array and not parsed.malformed else None
        outcomes = await self._post(parsed.logs, as_is)
        delivered = [entry for entry, outcome in outcomes if outcome.ok]
        permanent = [(entry, outcome) for entry, outcome in outcomes if not outcome.ok and not outcome.retryable]
        transient = [(entry, outcome) for entry, outcome in outcomes if outcome.retryable]
        self._count(delivered, sum(1 for _, outcome in permanent + transient if outcome.sent))
        for (status, error), entries in _by_failure(permanent).items():
            reason = f"webhook refused it: {error}" if status is not None else error  # else never sent
            await self._dead_letter(entries, reason, status, attempt)
            self._alert(entries, status, error, "sent to the dead-letter queue")
        if transient:
            whole = len(transient) == len(outcomes) and not parsed.malformed
            await self._retry(record, attempt, transient, whole)

    def _alert(self, entries: list[dict[str, Any]], status: int | None, error: str, outcome: str) -> None:
        ids = log_ids(entries)
        self.outbox.send(partial(self.alerts.delivery_failed, ids, self.webhook.url, status, error, outcome))

    async def _send(self, webhook_id: str, body: bytes) -> Outcome:
        loop = asyncio.get_running_loop()
        outcome = await loop.run_in_executor(self.executor, self._post_now, webhook_id, body)
        self.stats.requests += outcome.sent
        return outcome

    def _post_now(self, webhook_id: str, body: bytes) -> Outcome:
        """In a worker thread, once a slot is free: the time left is read now, not when queued."""
        return self.webhook.post(webhook_id, body, self.time_left() - RESERVE_SECONDS)

    async def _post(self, logs: list[dict[str, Any]], body: str | None) -> list[tuple[dict[str, Any], Outcome]]:
        """POST the batch (or each log); each log paired with the outcome of the request that carried it."""
        if self.send_as_batch:
            payload = (body if body is not None else encode(logs)).encode()
            outcome = await self._send(batch_id(log_ids(logs)), payload)
            return [(entry, outcome) for entry in logs]
        bodies: dict[str, str] = {}
        conflicting: set[str] = set()
        for entry in logs:  # one POST per log_id: a webhook-id never stands for two bodies
            text = encode(entry)
            if bodies.setdefault(_id_of(entry), text) != text:
                conflicting.add(_id_of(entry))
        sent = [entry_id for entry_id in bodies if entry_id not in conflicting]
        results = await asyncio.gather(*(self._send(entry_id, bodies[entry_id].encode()) for entry_id in sent))
        by_id = dict(zip(sent, results, strict=True))
        refused = Outcome(False, False, None, DUPLICATE_ID, sent=False)
        return [(entry, by_id.get(_id_of(entry), refused)) for entry in logs]

    async def _retry(
        self, record: SQSRecord, attempt: int, failures: list[tuple[dict[str, Any], Outcome]], whole: bool
    ) -> None:
        entries = [entry for entry, _ in failures]
        last = failures[-1][1]
        if not any(outcome.sent for _, outcome in failures):  # no time to try: not an attempt
            if whole:
                raise RetryLater(last.error)
            await asyncio.to_thread(self.queue.send, [_message(entries, {ATTEMPTS: str(attempt - 1)})])
            return
        if attempt >= self.max_receive_count:
            reason = f"gave up after {attempt} attempts: {last.error}"
            await self._dead_letter(entries, reason, last.status, attempt)
            self._alert(entries, last.status, last.error, "dead-lettered")
            return
        retry_after = max((outcome.retry_after or 0.0) for _, outcome in failures)
        delay = self.backoff.delay(attempt, retry_after, self.jitter())
        self.stats.retried += len(entries)
        logger.warning(
            "logs will be retried",
            extra={"log_count": len(entries), "attempt": attempt, "delay": delay, "reason": self._safe(last.error)},
        )
        if whole:
            await asyncio.to_thread(self._hide, record, delay)
            raise RetryLater(f"attempt {attempt} failed: {last.error}; next in about {delay}s")
        again = _message(entries, {ATTEMPTS: str(attempt)}, delay=min(delay, MAX_DELAY_SECONDS))
        await asyncio.to_thread(self.queue.send, [again])

    def _hide(self, record: SQSRecord, seconds: int) -> None:
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue.queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=seconds
            )
        except Exception as error:  # the record still comes back, only sooner
            logger.warning("could not set the retry delay", extra={"error": type(error).__name__})

    async def _dead_letter(self, entries: list[dict[str, Any]], reason: str, status: int | None, attempt: int) -> None:
        reason = self._safe(reason)
        extra = why(reason, status, attempt)
        await asyncio.to_thread(self.queue.send, [_message(entries, extra, dead_letter=True)])
        self.stats.dead_lettered += len(entries)
        logger.warning("logs dead-lettered", extra={"log_count": len(entries), "status": status, "reason": reason})

    async def _dead_letter_entry(self, entry: Any, reason: str, attempt: int) -> None:
        message = dead_letter_message(entry, reason, attempt)
        await asyncio.to_thread(self.queue.send, [message])
        self.stats.dead_lettered += 1
        logger.warning("log dead-lettered", extra={"log_count": 1, "reason": reason})

    async def _dead_letter_raw(self, record: SQSRecord, reason: str) -> None:
        message = dead_letter_body(record.body, reason, record.message_id)
        await asyncio.to_thread(self.queue.send, [message])
        self.stats.dead_lettered += 1
        logger.warning("message dead-lettered", extra={"message_id": record.message_id, "reason": reason})
        self.outbox.send(
            partial(
                self.alerts.delivery_failed,
                [record.message_id],
                self.webhook.url,
                None,
                reason,
                "sent to the dead-letter queue",
            )
        )

    def _safe(self, text: str) -> str:
        """``text`` with the run's secrets masked and URLs cut to their host: fit for a log line."""
        return redact(text, self.alerts.secrets)

    def _count(self, delivered: list[dict[str, Any]], failed: int) -> None:
        self.stats.failed += failed
        if delivered:
            times = [t for t in map(log_time, delivered) if t is not None]
            self._delivered(len(set(log_ids(delivered))), max(log_ids(delivered)), min(times) if times else None)

    def _delivered(self, count: int, last_log_id: str, oldest: float | None) -> None:
        self.stats.delivered += count
        self.stats.last_log_id = max(last_log_id, self.stats.last_log_id or "")
        if oldest is not None:
            self.stats.latencies.append(max(0.0, time.time() - oldest))


def _message(
    entries: Sequence[dict[str, Any]], extra: dict[str, str], dead_letter: bool = False, delay: int = 0
) -> Message:
    """Logs as the poller would queue them, plus ``extra`` attributes."""
    message = logs_message([encode(entry) for entry in entries], entries)
    return replace(message, attributes={**message.attributes, **extra}, dead_letter=dead_letter, delay_seconds=delay)


def _by_failure(failures: list[tuple[dict[str, Any], Outcome]]) -> dict[tuple[int | None, str], list[dict[str, Any]]]:
    groups: dict[tuple[int | None, str], list[dict[str, Any]]] = defaultdict(list)
    for entry, outcome in failures:
        groups[(outcome.status, outcome.error)].append(entry)
    return groups


def _id_of(entry: dict[str, Any]) -> str:
    return log_id(entry) or ""


@cache
def _executor(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook")


@cache
def _slack_executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack")


@cache
def _webhook(settings: DelivererSettings) -> WebhookClient:
    signer = WebhookSigner(settings.signing_secret.reveal()) if settings.signing_secret else None
    authorization = settings.authorization.reveal() if settings.authorization else None
    session = clients.http_session(settings.concurrency)
    return WebhookClient(settings.webhook_url, session, settings.timeout, authorization, signer)


def build_deliverer(settings: DelivererSettings) -> Deliverer:
    """Wire settings to the container's cached session, thread pool, SQS client and Slack notifier."""
    sqs = clients.sqs()
    return Deliverer(
        webhook=_webhook(settings),
        queue=LogQueue(sqs, settings.queue_url, settings.dead_letter_queue_url),
        sqs=sqs,
        executor=_executor(settings.concurrency),
        send_as_batch=settings.send_as_batch,
        max_receive_count=settings.max_receive_count,
        backoff=Backoff(base=settings.retry_base_seconds, cap=settings.retry_max_seconds),
        alerts=slack_for(settings.slack.url, settings.slack.send_success, settings.secrets()),
    )
