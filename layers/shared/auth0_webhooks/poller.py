"""One poller run: lease → checkpoint → Auth0 log pages → routes → SQS → checkpoint.

A run first takes the checkpoint's lease; if another run holds it, this one ends at once
without reading. Each page is put in ``log_id`` order and anything at or before the
checkpoint is dropped (reported as an anomaly), so the checkpoint only moves forward. It
moves only after SQS accepted every message before it, and only by a conditional write. A run
ends when it has caught up, when too little time is left for another page, when the rate
limit will not reset in time, or when another poller moved the checkpoint; none of these
loses a log. Each route takes its own logs into messages of its own (``routes.enqueue``: the
``default`` route, from LOG_TYPES, MIN_LOG_LEVEL and API_ENDPOINTS, without a routes file). An
Auth0 or SQS failure raises after the checkpoint was moved to the last log below every message
SQS did not accept.

(Over 300 lines on purpose: the run's rules about the checkpoint, the order of a page and the
lease only make sense read together.)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from . import clients
from .alerts import slack_for
from .auth0_source import Auth0LogSource, Page
from .checkpoint import CheckpointStore
from .errors import Auth0Error, CheckpointConflict, QueueError, RateLimited
from .filters import LogFilter
from .log_entry import log_id, parse_date
from .queue import LogQueue
from .redaction import describe
from .routes import default_route
from .routes.enqueue import page_messages, safe_checkpoint
from .routes.plan import CompiledRoute, compile_route
from .routes.runtime import poller_routes
from .settings import Auth0Settings, PollerSettings

logger = Logger(child=True)

# the first new log this much newer than the checkpoint's newest log makes the run ask Auth0 for
# the oldest log it keeps: if that is past the checkpoint, the logs in between are gone
GAP_SUSPECT_SECONDS = 3600.0
# the poller needs a route's match and PII rules only: the destination is the deliverer's business
UNUSED_URL = "https://deliverer.invalid"


@dataclass(frozen=True)
class Timing:
    """How the run spends the invocation's time (seconds)."""

    reserve: float = 3.0  # always kept for the last SQS write, the checkpoint and the metrics
    min_page: float = 1.0  # do not start a page with less than this (or the slowest page so far) left


@dataclass
class RunResult:
    """What one run did; ``stopped`` says why it ended."""

    checkpoint: str | None
    # caught-up | out-of-time | rate-limited | lost-race | leased (another run holds the lease)
    # | stale-page (Auth0 answered only logs at or before the checkpoint)
    stopped: str = "caught-up"
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
    newest_log_date: str | None = None  # of the newest log at or before the checkpoint
    lag_seconds: float = 0.0
    stale_dropped: int = 0  # logs Auth0 sent that were at or before the checkpoint
    retention_gaps: int = 0  # 1 when the checkpoint was older than the oldest log Auth0 keeps
    moved: bool = False  # the checkpoint moved during this run
    routed: dict[str, int] = field(default_factory=dict)  # logs queued per route (the summary only, no metric)

    def add_page(self, page: Page) -> None:
        self.auth0_requests += page.request_count
        self.auth0_retries += page.retries
        self.rate_limit_waits += page.rate_limit_waits
        self.rate_limit_wait_seconds += page.waited_seconds
        if page.logs:
            self.pages += 1
            self.read += len(page.logs)

    @property
    def progressed(self) -> bool:
        """The checkpoint moved, or the run saw that there was nothing new: what the silence alarm waits for."""
        return self.moved or self.stopped == "caught-up"

    def summary(self) -> dict[str, Any]:
        return {**asdict(self), "progressed": self.progressed}

    def metrics(self) -> dict[str, float]:
        """Counts for CloudWatch (all in Count, but LagSeconds).

        ``Progress`` only when the run progressed, ``Anomalies`` only when there were some: a custom
        metric is billed for the hours it is sent, and the alarms read a missing one as "none".
        """
        values: dict[str, float] = {
            "LogsRead": self.read,
            "LogsKept": self.kept,
            "LogsEnqueued": self.enqueued,
            "LogsDeadLettered": self.dead_lettered,
            "Pages": self.pages,
            "Auth0Requests": self.auth0_requests,
            "RateLimitWaits": self.rate_limit_waits,
            "LagSeconds": round(self.lag_seconds, 3),
        }
        if self.stale_dropped or self.retention_gaps:
            values["Anomalies"] = (self.stale_dropped > 0) + self.retention_gaps
        if self.progressed:
            values["Progress"] = 1
        return values


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
        wall_clock: Callable[[], float] = time.time,
        routes: Sequence[CompiledRoute] = (),
    ) -> None:
        """``routes``: where each log goes; none means the one ``default`` route taking what ``keep`` keeps."""
        self.source, self.store, self.queue, self.keep = source, store, queue, keep
        self.routes = tuple(routes) or (_default_route(keep),)
        self.batch_size, self.start_from, self.timing, self._clock = batch_size, start_from, timing, clock
        self._wall_clock = wall_clock
        self.run_id = uuid.uuid4().hex
        self.result: RunResult | None = None  # the run so far, also when it raised

    def run(self, remaining_seconds: Callable[[], float]) -> RunResult:
        now = self._wall_clock()
        if not self.store.take_lease(self.run_id, now + remaining_seconds(), now):
            logger.warning("another poller run holds the checkpoint's lease: ending this run without reading")
            self.result = RunResult(checkpoint=None, stopped="leased")
            return self.result
        try:
            return self._run(remaining_seconds)
        finally:
            if not self.store.release_lease(self.run_id):
                logger.warning("this run's lease had lapsed and another run took it")

    def _run(self, remaining_seconds: Callable[[], float]) -> RunResult:
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
        gap_checked = False
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
                result.add_page(page)
                if not page.logs:
                    break
                entries, texts = self._new_entries(page, cursor, result)
                if not entries:
                    result.stopped = "stale-page"
                    break
                if cursor is not None and not gap_checked:
                    gap_checked = True
                    self._check_retention(cursor, entries, result, time_left)
            except RateLimited as limited:
                logger.warning("rate limited: ending the run", extra={"reset_in": round(limited.reset_in, 2)})
                result.stopped = "rate-limited"
                break
            cursor = self._enqueue(entries, texts, cursor, result)
            if cursor is None:
                break  # lost the race to another poller
            slowest = max(slowest, self._clock() - started)
            if not fresh_start and len(page.logs) < self.batch_size:
                break  # a short page in checkpoint mode: caught up, no need to ask for an empty one
        newest = parse_date(result.newest_log_date)
        if result.stopped != "caught-up" and newest is not None:
            result.lag_seconds = max(0.0, self._wall_clock() - newest)  # from the checkpoint's newest log
        if result.progressed:
            self.store.record_success()
        return result

    def _new_entries(self, page: Page, cursor: str | None, result: RunResult) -> tuple[list[Any], list[str] | None]:
        """The page's entries after ``cursor``, in ``log_id`` order (malformed entries first), with their texts."""
        texts = page.texts if page.texts is not None else [""] * len(page.logs)
        malformed = [(entry, text) for entry, text in zip(page.logs, texts, strict=True) if log_id(entry) is None]
        with_ids = sorted(
            ((log_id(entry) or "", entry, text) for entry, text in zip(page.logs, texts, strict=True) if log_id(entry)),
            key=lambda item: item[0],
        )
        after = [(entry, text) for entry_id, entry, text in with_ids if cursor is None or entry_id > cursor]
        stale = len(with_ids) - len(after)
        if stale:
            result.stale_dropped += stale
            logger.warning(
                "Auth0 sent logs at or before the checkpoint: dropped them (does the tenant ignore `from`?)",
                extra={"dropped": stale, "checkpoint": cursor, "page": len(page.logs)},
            )
        if with_ids and not after:
            return [], None  # nothing new: the malformed entries of a repeated page were sent the first time
        if not with_ids:
            raise Auth0Error(f"a page of {len(page.logs)} entries without a log_id or _id: the checkpoint cannot move")
        chosen = malformed + after
        return [entry for entry, _ in chosen], ([text for _, text in chosen] if page.texts is not None else None)

    def _check_retention(
        self, cursor: str, entries: list[Any], result: RunResult, time_left: Callable[[], float]
    ) -> None:
        """Warn and count when the checkpoint is older than the oldest log the tenant still keeps."""
        checkpoint_time = parse_date(result.newest_log_date)
        first_time = next((t for t in (parse_date(e.get("date")) for e in entries if log_id(e)) if t is not None), None)
        if checkpoint_time is None or first_time is None or first_time - checkpoint_time < GAP_SUSPECT_SECONDS:
            return
        oldest = self.source.oldest(time_left)
        result.add_page(replace(oldest, logs=[]))  # its requests and waits, not its log (not read for queueing)
        oldest_id = next((log_id(e) for e in oldest.logs if log_id(e)), None)
        if oldest_id is not None and oldest_id > cursor:
            result.retention_gaps += 1
            oldest_date = oldest.logs[0].get("date") if isinstance(oldest.logs[0], dict) else None
            logger.warning(
                "the checkpoint is older than the oldest log Auth0 keeps: the logs in between are gone",
                extra={"checkpoint": cursor, "checkpoint_date": result.newest_log_date, "oldest_kept": oldest_date},
            )

    def _enqueue(
        self, entries: list[Any], texts: list[str] | None, cursor: str | None, result: RunResult
    ) -> str | None:
        """Queue one page's logs for every route (in log_id order), then move the checkpoint past the whole page."""
        plan = page_messages(entries, texts, self.routes, self.batch_size)
        ids = [entry_id for entry_id in map(log_id, entries) if entry_id]
        try:
            self.queue.send(plan.messages)
        except QueueError as error:
            to = safe_checkpoint(ids, plan.messages[error.accepted :])
            if to is not None:
                self._advance(cursor, to, entries, result)
            raise
        result.kept += plan.kept
        result.messages += len(plan.messages)
        result.dead_lettered += sum(1 for m in plan.messages if m.dead_letter)
        result.enqueued += sum(len(m.log_ids) for m in plan.messages if not m.dead_letter)
        for route_id, count in plan.routed.items():
            result.routed[route_id] = result.routed.get(route_id, 0) + count
        return self._advance(cursor, ids[-1], entries, result)

    def _advance(self, cursor: str | None, to: str, entries: list[Any], result: RunResult) -> str | None:
        """Move the checkpoint to ``to``, noting the newest date among ``entries`` up to it."""
        newest_date = _newest_date([e for e in entries if (log_id(e) or "") and (log_id(e) or "") <= to])
        newest_date = max(filter(None, (newest_date, result.newest_log_date)), default=None)
        try:
            self.store.advance(cursor, to, newest_date)
        except CheckpointConflict:
            logger.warning("another poller moved the checkpoint: ending this run", extra={"was": cursor})
            result.stopped = "lost-race"
            return None
        result.checkpoint, result.newest_log_date, result.moved = to, newest_date, True
        return to


def _default_route(keep: LogFilter) -> CompiledRoute:
    """The ``default`` route of a poller built with only a filter (no PII: each log's text goes as Auth0 sent it)."""
    compiled = compile_route(default_route(UNUSED_URL), hash_key=None)
    return replace(compiled, matches=keep)


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
    routes = poller_routes(settings.routes_file)  # a bad routes file raises here, before anything is read
    return Poller(
        source=log_source(settings.auth0),
        store=CheckpointStore(
            clients.dynamodb(), settings.checkpoint_table, settings.auth0.domain, settings.auth0.legacy_key
        ),
        queue=LogQueue(clients.sqs(), settings.queue_url, settings.dead_letter_queue_url),
        keep=keep,
        batch_size=settings.batch_size,
        start_from=settings.start_from,
        routes=routes,
    )
