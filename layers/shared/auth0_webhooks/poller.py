"""One poller run: checkpoint → Auth0 log pages → filter → SQS → checkpoint.

The checkpoint moves only after SQS accepted every message before it, and only by a
conditional write. A run ends when it has caught up, when too little time is left for
another page, when the rate limit will not reset in time, or when another poller moved
the checkpoint; none of these loses a log. An Auth0 or SQS failure raises after the
checkpoint was moved to the last batch SQS accepted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from . import clients
from .alerts import slack_for
from .auth0_source import Auth0LogSource, Page
from .checkpoint import CheckpointStore
from .dead_letters import dead_letter_message
from .errors import Auth0Error, CheckpointConflict, QueueError, RateLimited
from .filters import LogFilter
from .log_entry import log_id, log_time
from .messages import Message
from .queue import LogQueue, batch_messages
from .redaction import describe
from .settings import Auth0Settings, PollerSettings

logger = Logger(child=True)


@dataclass(frozen=True)
class Timing:
    """How the run spends the invocation's time (seconds)."""

    reserve: float = 3.0  # always kept for the last SQS write, the checkpoint and the metrics
    min_page: float = 1.0  # do not start a page with less than this (or the slowest page so far) left


@dataclass
class RunResult:
    """What one run did; ``stopped`` says why it ended."""

    checkpoint: str | None
    stopped: str = "caught-up"  # caught-up | out-of-time | rate-limited | lost-race
    pages: int = 0
    read: int = 0
    kept: int = 0
    enqueued: int = 0
    dead_lettered: int = 0
    messages: int = 0
    auth0_requests: int = 0
    auth0_retries: int = 0
    rate_limit_waits: int = 0
    rate_limit_wait_seconds: float = 0.0
    newest_log_date: str | None = None
    lag_seconds: float = 0.0

    def add_page(self, page: Page) -> None:
        self.auth0_requests += page.request_count
        self.auth0_retries += page.retries
        self.rate_limit_waits += page.rate_limit_waits
        self.rate_limit_wait_seconds += page.waited_seconds
        if page.logs:
            self.pages += 1
            self.read += len(page.logs)

    def summary(self) -> dict[str, Any]:
        return asdict(self)

    def metrics(self) -> dict[str, float]:
        """Counts for CloudWatch (all in Count, but LagSeconds)."""
        return {
            "LogsRead": self.read,
            "LogsKept": self.kept,
            "LogsEnqueued": self.enqueued,
            "LogsDeadLettered": self.dead_lettered,
            "Pages": self.pages,
            "Auth0Requests": self.auth0_requests,
            "RateLimitWaits": self.rate_limit_waits,
            "LagSeconds": round(self.lag_seconds, 3),
        }


class Poller:
    """Moves logs from the tenant to the queue. Build one per run; it holds no state of its own."""

    def __init__(
        self,
        source: Auth0LogSource,
        store: CheckpointStore,
        queue: LogQueue,
        keep: LogFilter,
        batch_size: int,
        start_from: str | None = None,
        timing: Timing = Timing(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source, self.store, self.queue, self.keep = source, store, queue, keep
        self.batch_size, self.start_from, self.timing, self._clock = batch_size, start_from, timing, clock
        self.result: RunResult | None = None  # the run so far, also when it raised

    def run(self, remaining_seconds: Callable[[], float]) -> RunResult:
        state = self.store.load()
        cursor = state.log_id
        if self.start_from is not None and self.start_from != state.start_from:
            logger.info("START_FROM changed: restarting", extra={"start_from": self.start_from, "was": cursor})
            self.store.restart(cursor, self.start_from)
            cursor = self.start_from
        result = self.result = RunResult(checkpoint=cursor, newest_log_date=state.newest_log_date)

        def time_left() -> float:
            return remaining_seconds() - self.timing.reserve

        slowest = self.timing.min_page
        last_log_time: float | None = None
        while True:
            if time_left() < slowest:
                result.stopped = "out-of-time"
                break
            started, fresh_start = self._clock(), cursor is None
            try:
                if cursor is None:
                    page = self.source.oldest(time_left)
                else:
                    page = self.source.after(cursor, self.batch_size, time_left)
            except RateLimited as limited:
                logger.warning("rate limited: ending the run", extra={"reset_in": round(limited.reset_in, 2)})
                result.stopped = "rate-limited"
                break
            result.add_page(page)
            if not page.logs:
                break
            cursor = self._enqueue(page, cursor, result)
            if cursor is None:
                break  # lost the race to another poller
            last_log_time = max(filter(None, map(log_time, page.logs)), default=last_log_time)
            slowest = max(slowest, self._clock() - started)
            if not fresh_start and len(page.logs) < self.batch_size:
                break  # a short page in checkpoint mode: caught up, no need to ask for an empty one
        if result.stopped != "caught-up" and last_log_time is not None:
            result.lag_seconds = max(0.0, time.time() - last_log_time)
        self.store.record_success()
        return result

    def _enqueue(self, page: Page, cursor: str | None, result: RunResult) -> str | None:
        """Queue one page's kept logs, then move the checkpoint past the whole page."""
        ids: list[str] = []
        malformed: list[Message] = []
        kept: list[dict[str, Any]] = []
        kept_texts: list[str] = []
        for index, entry in enumerate(page.logs):
            entry_id = log_id(entry)
            if entry_id is None:
                malformed.append(dead_letter_message(entry, "malformed log: no log_id or _id"))
                continue
            ids.append(entry_id)
            if self.keep(entry):
                kept.append(entry)
                kept_texts.append(page.texts[index] if page.texts is not None else "")
        if not ids:
            raise Auth0Error(f"a page of {len(page.logs)} entries without a log_id or _id: the checkpoint cannot move")
        messages = malformed + batch_messages(
            kept, self.batch_size, texts=kept_texts if page.texts is not None else None
        )
        try:
            self.queue.send(messages)
        except QueueError as error:
            self._advance_after_failure(messages[: error.accepted], cursor)
            raise
        result.kept += len(kept)
        result.messages += len(messages)
        result.dead_lettered += sum(1 for m in messages if m.dead_letter)
        result.enqueued += sum(len(m.log_ids) for m in messages if not m.dead_letter)
        newest, newest_date = max(ids), _newest_date(kept)
        try:
            self.store.advance(cursor, newest, newest_date)
        except CheckpointConflict:
            logger.warning("another poller moved the checkpoint: ending this run", extra={"was": cursor})
            result.stopped = "lost-race"
            return None
        result.checkpoint = newest
        result.newest_log_date = newest_date or result.newest_log_date
        return newest

    def _advance_after_failure(self, accepted: list[Message], cursor: str | None) -> None:
        ids = [m.last_id for m in accepted if m.last_id and not m.dead_letter]
        if not ids:
            return
        try:
            self.store.advance(cursor, max(ids), None)
        except CheckpointConflict:
            pass  # the other poller is ahead; it will carry on


def _newest_date(entries: list[Any]) -> str | None:
    dates = [e["date"] for e in entries if isinstance(e, dict) and isinstance(e.get("date"), str)]
    return max(dates) if dates else None


@cache
def log_source(settings: Auth0Settings) -> Auth0LogSource:
    """One source per tenant and client per container, so the token outlives the invocation."""
    return Auth0LogSource(settings, clients.http_session())


def run_poller(settings: PollerSettings, remaining_seconds: Callable[[], float]) -> RunResult:
    """One run with the container's clients; a failed run is also reported to Slack."""
    poller = build_poller(settings)
    try:
        return poller.run(remaining_seconds)
    except Exception as error:
        slack = slack_for(settings.slack.url, settings.slack.send_success, (settings.auth0.client_secret.reveal(),))
        slack.poller_failed(describe(error), poller.result.checkpoint if poller.result else None)
        raise


def build_poller(settings: PollerSettings) -> Poller:
    """Wire settings to cached clients."""
    keep = LogFilter(settings.log_types, settings.min_log_level, settings.api_endpoints)
    if keep.unknown_types():
        logger.warning("LOG_TYPES lists codes missing from the level table", extra={"codes": keep.unknown_types()})
    return Poller(
        source=log_source(settings.auth0),
        store=CheckpointStore(clients.dynamodb(), settings.checkpoint_table, settings.auth0.domain),
        queue=LogQueue(clients.sqs(), settings.queue_url, settings.dead_letter_queue_url),
        keep=keep,
        batch_size=settings.batch_size,
        start_from=settings.start_from,
    )
