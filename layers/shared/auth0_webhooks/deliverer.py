"""The deliverer: SQS records → webhook POSTs, with partial batch failures.

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
In batch mode, a record the poller made (its attributes name its ``webhook_id`` and
``log_count``) is POSTed as it is and parsed only if that fails.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from . import clients
from .alerts import SlackAlerts, slack_for
from .dead_letters import ATTEMPTS, dead_letter_batch, dead_letter_body, dead_letter_message
from .log_entry import log_id, log_ids, log_time, parse_date
from .messages import Message, dumps, logs_message
from .queue import LogQueue
from .records import BatchSummary, attempt_of, batch_summary, parse
from .settings import DelivererSettings
from .signing import WebhookSigner, batch_id
from .webhook import Backoff, Outcome, WebhookClient

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = Logger(child=True)

MAX_DELAY_SECONDS = 900  # SQS DelaySeconds cap, for logs queued again in single mode
DEFAULT_BACKOFF = Backoff()


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

    def process(self, event: dict[str, Any], time_left: Callable[[], float] | None = None) -> dict[str, Any]:
        """Handle every record; the partial batch response lists the ones SQS should offer again."""
        self.time_left = time_left or self.time_left
        processor = AsyncBatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
        response = async_process_partial_response(event, record_handler=self.handle, processor=processor)
        self.alerts.success(self.stats.delivered, self.stats.last_log_id)
        return dict(response)

    async def handle(self, record: SQSRecord) -> None:
        attempt = attempt_of(record)
        summary = batch_summary(record) if self.send_as_batch else None
        as_sent: Outcome | None = None
        if summary is not None:  # a batch the poller made: POST it as it is, parse it only if that fails
            self._ensure_time()
            as_sent = await self._send(summary.webhook_id, record.body.encode())
            if as_sent.ok:
                self._count_summary(summary)
                return
        parsed = parse(record.body)
        if parsed is None:
            await self._dead_letter_raw(record, "malformed message: not a JSON array of log entries")
            return
        if as_sent is None and parsed.logs:
            self._ensure_time()
        for entry in parsed.malformed:
            await self._dead_letter_entry(entry, "malformed log: no log_id or _id", attempt)
        if not parsed.logs:
            return
        if as_sent is not None:
            outcomes = [(entry, as_sent) for entry in parsed.logs]
        else:
            outcomes = await self._post(parsed.logs, record.body if not parsed.malformed else None)
        delivered = [entry for entry, outcome in outcomes if outcome.ok]
        permanent = [(entry, outcome) for entry, outcome in outcomes if not outcome.ok and not outcome.retryable]
        transient = [(entry, outcome) for entry, outcome in outcomes if outcome.retryable]
        self._count(delivered, len(permanent) + len(transient))
        for (status, error), entries in _by_failure(permanent).items():
            await self._dead_letter(entries, f"webhook refused it: {error}", status, attempt)
            self.alerts.delivery_failed(
                log_ids(entries), self.webhook.url, status, error, "sent to the dead-letter queue"
            )
        if transient:
            whole = len(transient) == len(outcomes) and not parsed.malformed
            await self._retry(record, attempt, transient, whole)

    def _ensure_time(self) -> None:
        if self.time_left() < self.webhook.timeout + 1:
            raise RetryLater("too little time left in this invocation to POST")  # SQS offers it again

    async def _send(self, webhook_id: str, body: bytes) -> Outcome:
        self.stats.requests += 1
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.webhook.post, webhook_id, body)

    async def _post(self, logs: list[dict[str, Any]], body: str | None) -> list[tuple[dict[str, Any], Outcome]]:
        """POST the batch (or each log); each log paired with the outcome of the request that carried it."""
        if self.send_as_batch:
            payload = (body if body is not None else dumps(logs)).encode()
            outcome = await self._send(batch_id(log_ids(logs)), payload)
            return [(entry, outcome) for entry in logs]
        outcomes = await asyncio.gather(*(self._send(_id_of(entry), dumps(entry).encode()) for entry in logs))
        return list(zip(logs, outcomes, strict=True))

    async def _retry(
        self, record: SQSRecord, attempt: int, failures: list[tuple[dict[str, Any], Outcome]], whole: bool
    ) -> None:
        entries = [entry for entry, _ in failures]
        last = failures[-1][1]
        if attempt >= self.max_receive_count:
            reason = f"gave up after {attempt} attempts: {last.error}"
            await self._dead_letter(entries, reason, last.status, attempt)
            self.alerts.delivery_failed(log_ids(entries), self.webhook.url, last.status, last.error, "dead-lettered")
            return
        retry_after = max((outcome.retry_after or 0.0) for _, outcome in failures)
        delay = self.backoff.delay(attempt, retry_after, self.jitter())
        self.stats.retried += len(entries)
        if whole:
            await asyncio.to_thread(self._hide, record, delay)
            raise RetryLater(f"attempt {attempt} failed: {last.error}; next in about {delay}s")
        again = _requeued(entries, attempt, delay=min(delay, MAX_DELAY_SECONDS))
        await asyncio.to_thread(self.queue.send, [again])

    def _hide(self, record: SQSRecord, seconds: int) -> None:
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue.queue_url, ReceiptHandle=record.receipt_handle, VisibilityTimeout=seconds
            )
        except Exception as error:  # the record still comes back, only sooner
            logger.warning("could not set the retry delay", extra={"error": type(error).__name__})

    async def _dead_letter(self, entries: list[dict[str, Any]], reason: str, status: int | None, attempt: int) -> None:
        await asyncio.to_thread(self.queue.send, [dead_letter_batch(entries, reason, status, attempt)])
        self.stats.dead_lettered += len(entries)

    async def _dead_letter_entry(self, entry: Any, reason: str, attempt: int) -> None:
        message = dead_letter_message(entry, reason, attempt)
        await asyncio.to_thread(self.queue.send, [message])
        self.stats.dead_lettered += 1

    async def _dead_letter_raw(self, record: SQSRecord, reason: str) -> None:
        message = dead_letter_body(record.body, reason, record.message_id)
        await asyncio.to_thread(self.queue.send, [message])
        self.stats.dead_lettered += 1
        self.alerts.delivery_failed(
            [record.message_id], self.webhook.url, None, reason, "sent to the dead-letter queue"
        )

    def _count(self, delivered: list[dict[str, Any]], failed: int) -> None:
        self.stats.failed += failed
        if delivered:
            times = [t for t in map(log_time, delivered) if t is not None]
            self._delivered(len(delivered), max(log_ids(delivered)), min(times) if times else None)

    def _count_summary(self, summary: BatchSummary) -> None:
        self._delivered(summary.count, summary.last_log_id, parse_date(summary.oldest_log_date))

    def _delivered(self, count: int, last_log_id: str, oldest: float | None) -> None:
        self.stats.delivered += count
        self.stats.last_log_id = max(last_log_id, self.stats.last_log_id or "")
        if oldest is not None:
            self.stats.latencies.append(max(0.0, time.time() - oldest))


def _requeued(entries: Sequence[dict[str, Any]], attempt: int, delay: int) -> Message:
    """Logs queued again as the poller would queue them, counting the attempts made, hidden ``delay`` seconds."""
    message = logs_message([dumps(entry) for entry in entries], entries)
    return replace(message, attributes={**message.attributes, ATTEMPTS: str(attempt)}, delay_seconds=delay)


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
