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

When the first page shows the run far behind (:mod:`~auth0_webhooks.backlog`), the rest of the
backlog is read in time slices at once (:mod:`~auth0_webhooks.slices`), every request under the run's
one :class:`~auth0_webhooks.ratelimit.RateLimiter`; each slice's pages go through the same enqueue path,
and the checkpoint moves only over the contiguous prefix of slices SQS accepted.

(Over 300 lines on purpose: the run's rules about the checkpoint, the order of a page, the lease and
the sliced drain's checkpoint only make sense read together.)
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from . import clients
from .alerts import slack_for
from .auth0_source import Auth0LogSource, Page, TimeLeft
from .backlog import DEFAULT_DRAIN, DrainPolicy, behind
from .checkpoint import CheckpointStore
from .dead_letters import malformed_log
from .errors import Auth0Error, CheckpointConflict, QueueError, RateLimited
from .filters import LogFilter
from .handoff import should_hand_on
from .log_entry import log_id, parse_date
from .log_ids import synthetic_id
from .metrics import SHORTFALLS
from .queue import LogQueue
from .ratelimit import RateLimiter
from .redaction import describe
from .routes import default_route
from .routes.enqueue import page_messages, safe_checkpoint
from .routes.plan import CompiledRoute, compile_route
from .routes.runtime import poller_routes
from .settings import Auth0Settings, PollerSettings
from .slices import Slice, SliceReader, SliceTracker, plan_slices, workers_for
from .start_points import StartPoint, parse_start_from, resolve_start
from .windows import RangePage

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
    start: str | None = None  # how a new START_FROM was resolved (newest-log, synthetic-id, search-fallback, ...)
    slices: int = 0  # time slices of a parallel backlog drain (0: read page by page)
    backlog: bool = False  # ended out of time with more to read (its last page was full)
    handed_on: bool = False  # started the next run at once (see run_poller)
    hand_on_failed: bool = False  # should have started the next run at once and could not (metric Shortfalls)

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
        if self.hand_on_failed:
            values[SHORTFALLS] = 1
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
        start_point: StartPoint | None = None,
        limiter: RateLimiter | None = None,
        drain: DrainPolicy | None = DEFAULT_DRAIN,
    ) -> None:
        """``routes``: where each log goes; none means the one ``default`` route taking what ``keep`` keeps."""
        self.source, self.store, self.queue, self.keep = source, store, queue, keep
        self.routes = tuple(routes) or (_default_route(keep),)
        self.batch_size, self.start_from, self.timing, self._clock = batch_size, start_from, timing, clock
        self._wall_clock = wall_clock
        if start_point is None and start_from is not None:
            start_point = parse_start_from(start_from, datetime.fromtimestamp(wall_clock(), UTC))
        self.start_point = start_point
        self.limiter, self.drain = limiter, drain  # drain=None: always page by page
        self._lock = threading.Lock()  # the drain's threads: the checkpoint write and the run's counts
        self.run_id = uuid.uuid4().hex
        self.result: RunResult | None = None  # the run so far, also when it raised

    def run(self, remaining_seconds: Callable[[], float]) -> RunResult:
        now = self._wall_clock()
        if not self.store.take_lease(self.run_id, now + remaining_seconds(), now):
            logger.warning("another poller run holds the checkpoint's lease: ending this run without reading")
            self.result = RunResult(checkpoint=None, stopped="leased")
            return self.result
        try:
            with self._limited():
                return self._run(remaining_seconds)
        finally:
            if not self.store.release_lease(self.run_id):
                logger.warning("this run's lease had lapsed and another run took it")

    @contextmanager
    def _limited(self) -> Iterator[None]:
        """The run's Auth0 requests all draw from its one limiter (none: as the source's session allows)."""
        if self.limiter is None:
            yield
            return
        with self.source.limited_by(self.limiter):
            yield

    def _run(self, remaining_seconds: Callable[[], float]) -> RunResult:
        def time_left() -> float:
            return remaining_seconds() - self.timing.reserve

        state = self.store.load()
        cursor = state.log_id
        result = self.result = RunResult(checkpoint=cursor, newest_log_date=state.newest_log_date)
        if self.start_point is not None and self.start_from != state.start_from:
            try:
                cursor = self._restart(cursor, self.start_point, result, time_left)
            except RateLimited as limited:
                logger.warning("rate limited: ending the run", extra={"reset_in": round(limited.reset_in, 2)})
                result.stopped = "rate-limited"
                return result

        slowest = self.timing.min_page
        gap_checked = False
        drained, last_full = self.drain is None, False
        while True:
            if time_left() < slowest:
                result.stopped, result.backlog = "out-of-time", last_full
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
            last_full = fresh_start or len(page.logs) >= self.batch_size  # the oldest log of many, or a full page
            if not fresh_start and len(page.logs) < self.batch_size:
                break  # a short page in checkpoint mode: caught up, no need to ask for an empty one
            if not drained and not fresh_start:
                drained = True
                now = datetime.fromtimestamp(self._wall_clock(), UTC)
                if self.drain is not None and behind(page.logs, self.batch_size, now, self.drain):
                    self._drain(cursor, result, time_left, slowest, now)
                    break
        if self.limiter is not None:  # the waits for the run's limiter (the source counts those after a 429)
            spent = self.limiter.stats()
            result.rate_limit_waits += spent.waits
            result.rate_limit_wait_seconds = round(result.rate_limit_wait_seconds + spent.waited_seconds, 3)
        newest = parse_date(result.newest_log_date)
        if result.stopped != "caught-up" and newest is not None:
            result.lag_seconds = max(0.0, self._wall_clock() - newest)  # from the checkpoint's newest log
        if result.progressed:
            self.store.record_success()
        return result

    def _restart(self, cursor: str | None, point: StartPoint, result: RunResult, time_left: TimeLeft) -> str | None:
        """Apply a START_FROM the checkpoint was not started with: resolve it once and store where it points."""
        resolved = resolve_start(point, self.source, time_left)
        logger.info(
            "START_FROM changed: restarting",
            extra={
                "start_from": self.start_from,
                "was": cursor,
                "checkpoint": resolved.checkpoint,
                "how": resolved.how,
            },
        )
        assert self.start_from is not None
        self.store.restart(cursor, self.start_from, resolved.checkpoint)
        result.checkpoint, result.start, result.newest_log_date = resolved.checkpoint, resolved.how, None
        return resolved.checkpoint

    # -- the parallel backlog drain ----------------------------------------------------------

    def _drain(self, cursor: str, result: RunResult, time_left: TimeLeft, round_trip: float, now: datetime) -> None:
        """Read from ``cursor`` to now in time slices at once; the checkpoint moves over the done prefix only."""
        assert self.drain is not None
        limit = self.limiter.stats().limit if self.limiter is not None else None
        workers = min(self.drain.max_workers, workers_for(float(limit or 1), round_trip))
        tracker = SliceTracker(plan_slices(cursor, synthetic_id(now), workers * self.drain.slices_per_worker))
        result.slices = len(tracker.slices)
        dates: list[tuple[str, str | None]] = []  # (cursor, newest date) of each page SQS accepted
        logger.info(
            "far behind: draining the backlog in time slices", extra={"slices": result.slices, "workers": workers}
        )

        def sink(piece: Slice, page: RangePage) -> None:
            self._advance_over_prefix(tracker, dates, result)  # what was done before this page
            if result.stopped == "lost-race":
                raise CheckpointConflict("another poller moved the checkpoint")
            self._enqueue_slice_page(piece, page, tracker, dates, result)

        reader = SliceReader(self.source, workers, take=self.batch_size, min_page=round_trip)
        try:
            drained = reader.drain(tracker, sink, time_left)
        except CheckpointConflict:
            result.stopped = "lost-race"
            return
        finally:
            self._advance_over_prefix(tracker, dates, result)
        with self._lock:
            result.auth0_requests += drained.requests
            result.auth0_retries += drained.retries
            result.rate_limit_waits += drained.rate_limit_waits
        if result.stopped != "lost-race":
            result.stopped = drained.stopped
            result.backlog = drained.stopped == "out-of-time"
        if drained.stopped == "rate-limited":
            logger.warning("rate limited: ending the backlog drain", extra={"done_slices": drained.done_slices})

    def _enqueue_slice_page(
        self,
        piece: Slice,
        page: RangePage,
        tracker: SliceTracker,
        dates: list[tuple[str, str | None]],
        result: RunResult,
    ) -> None:
        """Queue one slice page through the enqueue path, holding the checkpoint (the prefix moves it)."""
        held = _Held(checkpoint=None)
        entries = page.malformed + page.logs
        texts = [""] * len(page.malformed) + page.texts if page.texts is not None else None
        try:
            if page.logs:
                self._enqueue(entries, texts, piece.after, held)
            elif page.malformed:
                self.queue.send([malformed_log(e) for e in page.malformed])
                held.dead_lettered = held.messages = len(page.malformed)
        except QueueError:
            if held.checkpoint is not None:  # the part of the page before the first message SQS refused
                tracker.advance(piece.index, held.checkpoint)
                self._note_date(dates, held)
            raise
        finally:
            with self._lock:
                result.pages += 1
                result.read += len(entries)
                for name in ("kept", "enqueued", "dead_lettered", "messages"):
                    setattr(result, name, getattr(result, name) + getattr(held, name))
        self._note_date(dates, held)

    def _note_date(self, dates: list[tuple[str, str | None]], held: RunResult) -> None:
        if held.checkpoint is not None:
            with self._lock:
                dates.append((held.checkpoint, held.newest_log_date))

    def _advance_over_prefix(
        self, tracker: SliceTracker, dates: list[tuple[str, str | None]], result: RunResult
    ) -> None:
        """Move the checkpoint over the slices done so far (and the accepted part of the first not done).

        Only to a real id SQS accepted, never to a slice's synthetic bound: a log Auth0 makes readable a
        little late, with an id below the bound of a slice already read, is still read by the next run.
        """
        with self._lock:
            bound, was = tracker.checkpoint(), result.checkpoint
            to = max((cursor for cursor, _ in dates if cursor <= bound), default=None)
            if result.stopped == "lost-race" or to is None or (was is not None and to <= was):
                return
            newest = max(filter(None, [result.newest_log_date, *(d for c, d in dates if c <= to)]), default=None)
            try:
                self.store.advance(was, to, newest)
            except CheckpointConflict:
                logger.warning("another poller moved the checkpoint: ending this run", extra={"was": was})
                result.stopped = "lost-race"
                return
            result.checkpoint, result.newest_log_date, result.moved = to, newest, True

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
        if isinstance(result, _Held):  # a slice's page: the drain moves the checkpoint over the done prefix
            result.checkpoint, result.newest_log_date = to, newest_date
            return to
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


class _Held(RunResult):
    """One slice page's counts; :meth:`Poller._advance` notes where the checkpoint could go, without writing."""


def _newest_date(entries: list[Any]) -> str | None:
    dates = [e["date"] for e in entries if isinstance(e, dict) and isinstance(e.get("date"), str)]
    return max(dates) if dates else None


@cache
def log_source(settings: Auth0Settings) -> Auth0LogSource:
    """One source per tenant and client per container, so the token outlives the invocation."""
    return Auth0LogSource(settings, clients.http_session())


def run_poller(
    settings: PollerSettings, remaining_seconds: Callable[[], float], hand_on: Callable[[], None] | None = None
) -> RunResult:
    """One run with the container's clients; a failed run is also reported to Slack.

    ``hand_on`` starts the next run at once; it is called (once) when this run ended out of time with a
    backlog left (:func:`handoff.should_hand_on`). If it fails, the schedule starts the next run.
    """
    poller = build_poller(settings)
    try:
        result = poller.run(remaining_seconds)
        if hand_on is not None and should_hand_on(result.stopped, result.backlog):
            try:
                hand_on()
                result.handed_on = True
            except Exception as error:  # the schedule still starts the next run: slower, nothing lost
                result.hand_on_failed = True
                logger.warning("could not start the next run at once", extra={"error": describe(error)})
        return result
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
        limiter=RateLimiter(settings.rate_limit_reserve),  # one per run
        start_point=settings.start_point,
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
