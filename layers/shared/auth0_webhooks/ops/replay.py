"""Replay a time window: the logs dated in [T1, T2) read again and put into the pipeline, resumably.

:class:`Replayer` reads the window page by page with :func:`~auth0_webhooks.windows.read_window`
(checkpoint mode, under the caller's rate-limited session), keeps the logs of the chosen types, fans
them out to the chosen routes (each route's match and PII rules) and queues each route's logs in
messages of their own, as the poller does (:func:`~auth0_webhooks.routes.enqueue.page_messages`), each
with a ``replayed`` attribute (:func:`~auth0_webhooks.messages.mark_replayed`).
After SQS accepted a page's messages, the page's cursor is saved in the replay's own item of the
checkpoint table (:class:`ReplayStore`, key :func:`replay_key`), never the live poller's: a run
stopped by Ctrl-C or a crash resumes after the last saved page, sending at most the unsaved pages
again. Entries without a ``log_id`` or a readable date go to the dead-letter queue.

:meth:`Replayer.count` is the dry run: what the window holds by type and what each route would get.

>>> from datetime import UTC, datetime
>>> window = Window(datetime(2026, 11, 1, 9, tzinfo=UTC), datetime(2026, 11, 1, 10, tzinfo=UTC))
>>> replay_key("acme.eu.auth0.com", window, ("siem",), frozenset({"s", "f"}))
'replay#acme.eu.auth0.com#2026-11-01T09:00:00.000Z#2026-11-01T10:00:00.000Z#siem#f,s'
>>> replay_key("acme.eu.auth0.com", window, (), frozenset()).endswith("#*#*")
True
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..auth0_source import Auth0LogSource, TimeLeft
from ..checkpoint import KEY_ATTRIBUTE, utc_now
from ..dead_letters import dead_letter_message
from ..log_entry import log_type
from ..log_ids import check_id_shape, id_time, log_date
from ..messages import mark_replayed
from ..queue import LogQueue
from ..routes.enqueue import PageMessages, page_messages
from ..routes.plan import CompiledRoute
from ..search_mode import newest, oldest
from ..windows import TAKE, RangePage, Window, read_window
from .aws import OperatorError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_PREFIX = "replay"
MALFORMED_REASON = "malformed log: no log_id or _id, or no readable date (read by a replay)"
_COUNTS = ("read", "sent", "dead_lettered")


def _stamp(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def replay_key(domain: str, window: Window, routes: Sequence[str], types: frozenset[str]) -> str:
    """The replay's item in the checkpoint table: one per tenant, window, route set and type set."""
    parts = (KEY_PREFIX, domain, _stamp(window.start), _stamp(window.end))
    return "#".join((*parts, ",".join(sorted(routes)) or "*", ",".join(sorted(types)) or "*"))


@dataclass
class ReplayState:
    """Where a replay is: read after ``cursor`` to go on; what it read, queued and dead-lettered so far."""

    cursor: str | None = None
    read: int = 0  # logs dated in the window (of any type)
    sent: int = 0  # logs queued, once per route that took them
    dead_lettered: int = 0
    done: bool = False


class ReplayStore:
    """The replay's own item ``{pk: key}`` in the checkpoint table, moved only by conditional writes."""

    def __init__(self, client: DynamoDBClient, table: str, key: str) -> None:
        self.client, self.table, self.key = client, table, key

    def load(self) -> ReplayState:
        item = self.client.get_item(
            TableName=self.table, Key={KEY_ATTRIBUTE: {"S": self.key}}, ConsistentRead=True
        ).get("Item", {})
        if not item:
            return ReplayState()
        counts = {name: int(item[name]["N"]) for name in _COUNTS if name in item}
        cursor, done = item.get("cursor", {}).get("S"), item.get("done", {}).get("BOOL", False)
        return ReplayState(cursor=cursor, done=done, **counts)

    def save(self, previous: str | None, state: ReplayState) -> None:
        """Store ``state`` if the item still holds ``previous`` (another run of the same replay stops us)."""
        values: dict[str, Any] = {name: {"N": str(getattr(state, name))} for name in _COUNTS}
        values.update({"done": {"BOOL": state.done}, "updated_at": {"S": utc_now()}})
        if state.cursor is not None:
            values["cursor"] = {"S": state.cursor}
        condition = "attribute_not_exists(#cursor)" if previous is None else "#cursor = :previous"
        try:
            self.client.update_item(
                TableName=self.table,
                Key={KEY_ATTRIBUTE: {"S": self.key}},
                UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in values),
                ConditionExpression=condition,
                ExpressionAttributeNames={f"#{name}": name for name in (*values, "cursor")},
                ExpressionAttributeValues={f":{name}": value for name, value in values.items()}
                | ({":previous": {"S": previous}} if previous is not None else {}),
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            raise OperatorError(
                "another run of this replay moved its checkpoint: stopping (run one replay of a window at a time)"
            ) from None

    def delete(self) -> None:
        self.client.delete_item(TableName=self.table, Key={KEY_ATTRIBUTE: {"S": self.key}})


@dataclass
class Tally:
    """A dry run: the window's logs by type, and how many each route would get."""

    types: Counter[str] = field(default_factory=Counter)
    routes: dict[str, int] = field(default_factory=dict)
    malformed: int = 0

    @property
    def total(self) -> int:
        return sum(self.types.values())


Progress = Callable[[ReplayState, float], None]  # the state after a page, and the share of the window covered


class Replayer:
    """Reads a window from ``source`` and queues it for ``routes``; build one per run."""

    def __init__(
        self,
        source: Auth0LogSource,
        window: Window,
        routes: Sequence[CompiledRoute],
        types: frozenset[str] = frozenset(),
        batch_size: int = TAKE,
        time_left: TimeLeft = lambda: float("inf"),
    ) -> None:
        self.source, self.window, self.routes, self.types = source, window, tuple(routes), types
        self.batch_size, self.time_left = batch_size, time_left

    def check_window(self) -> datetime | None:
        """Refuse a window the tenant cannot give; the oldest log's date when the window starts before it.

        Reads the tenant's oldest and newest log: replay reads by log id, so the ids must carry time.
        """
        first, last = oldest(self.source, self.time_left), newest(self.source, self.time_left)
        if first is None or last is None:
            raise OperatorError("the tenant keeps no logs: there is nothing to replay")
        # an entry without a date (dead-lettered when read) says nothing about the ids' shape
        shape = check_id_shape([entry for entry in (first, last) if log_date(entry) is not None])
        if not shape.carries_time:
            raise OperatorError(f"this tenant's log ids carry no time (replay reads by log id): {shape.reason}")
        kept_since = log_date(first)
        if kept_since is not None and kept_since >= self.window.end:
            raise OperatorError(
                f"the window ends before the oldest log the tenant keeps ({_stamp(kept_since)}): Auth0 keeps"
                " logs 1 to 30 days, by plan; choose a later --from/--to"
            )
        return kept_since if kept_since is not None and kept_since > self.window.start else None

    def run(self, queue: LogQueue, store: ReplayStore, progress: Progress | None = None) -> ReplayState:
        """Replay from the store's cursor to the window's end; the state after the last page.

        Each page's messages are sent before its cursor is saved, so a stop anywhere loses nothing.
        """
        state = store.load()
        if state.done:
            return state
        for page in read_window(self.source, self.window, self.time_left, cursor=state.cursor):
            messages = [dead_letter_message(entry, MALFORMED_REASON) for entry in page.malformed]
            messages += [mark_replayed(message) for message in self.plan(page).messages]
            queue.send(messages)
            previous = state.cursor
            state.cursor, state.done = page.cursor, page.done
            state.read += len(page.logs)
            state.sent += sum(len(m.log_ids) for m in messages if not m.dead_letter)
            state.dead_lettered += sum(1 for m in messages if m.dead_letter)
            store.save(previous, state)
            if progress is not None:
                progress(state, 1.0 if page.done else self.covered(page.cursor))
        return state

    def count(self, progress: Progress | None = None) -> Tally:
        """The dry run: read the whole window, queue nothing, save nothing."""
        tally = Tally(routes={compiled.route.id: 0 for compiled in self.routes})
        state = ReplayState()
        for page in read_window(self.source, self.window, self.time_left):
            plan = self.plan(page)
            tally.types.update(log_type(entry) for entry in page.logs)
            tally.malformed += len(page.malformed) + sum(1 for m in plan.messages if m.dead_letter)
            for route, count in plan.routed.items():
                tally.routes[route] += count
            state.read += len(page.logs)
            if progress is not None:
                progress(state, 1.0 if page.done else self.covered(page.cursor))
        return tally

    def plan(self, page: RangePage) -> PageMessages:
        """The page's logs of the chosen types as each route's messages, as the poller makes them."""
        chosen = [i for i, entry in enumerate(page.logs) if not self.types or log_type(entry) in self.types]
        texts = [page.texts[i] for i in chosen] if page.texts is not None else None
        return page_messages([page.logs[i] for i in chosen], texts, self.routes, self.batch_size)

    def covered(self, cursor: str) -> float:
        """The share of the window read once the reader is past ``cursor`` (by the time in the id)."""
        at = id_time(cursor)
        start, end = id_time(self.window.first_id()), id_time(self.window.last_id())
        if at is None or start is None or end is None:
            return 0.0
        return min(1.0, max(0.0, (at - start) / (end - start)))
