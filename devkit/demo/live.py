"""The demo's progress while it runs: a live table redrawn in place, or one plain line per update.

Every count is of logs. On a terminal, :class:`Live` redraws (with ``rich``) one table of
totals, the counts by log type, the latency so far and one payload as the receiver got it;
elsewhere (CI, a file) :func:`plain_line` prints one stable line per update.

>>> plain_line(Snapshot(elapsed=3, produced=510, read=500, queued=500, on_the_way=40, delivered=460,
...                     retried=2, dead_lettered=0, note="draining"))
'    3s  produced 510  read 500  queued 500  on the way 40  delivered 460  retried 2  dead-lettered 0  draining'
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live as RichLive
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ..latency import Latency, Sample, measured, sample
from ..receivers import WebhookReceiver
from .pipeline import Pipeline
from .stream import LogStream
from .tally import Tally

LEGEND = (
    "logs: produced by the tenant → read by the poller → queued on SQS (once for each route that takes it) → on the"
    " way (queued, not yet delivered or dead-lettered) → delivered to a route's destination; retried: logs sent"
    " again after a failure (once per retry)"
)
TOTALS = ("produced", "read", "queued", "on the way", "delivered", "retried", "dead-lettered")
SAMPLE_LINES = 16  # the sample payload is cut to this many lines
TYPE_ROWS = 8  # the most frequent log types get a row each; the others share one


@dataclass(frozen=True)
class Snapshot:
    """The counts at one moment, all of logs."""

    elapsed: float
    produced: int | None  # None: not the local tenant
    read: int
    queued: int
    on_the_way: int
    delivered: int
    retried: int
    dead_lettered: int
    by_type: dict[str, tuple[int, int]] = field(default_factory=dict)  # type -> (produced, delivered)
    note: str = ""

    def totals(self) -> list[str]:
        values = [self.produced, self.read, self.queued, self.on_the_way, self.delivered, self.retried]
        return ["-" if v is None else f"{v:,}" for v in [*values, self.dead_lettered]]


def plain_line(snapshot: Snapshot) -> str:
    """One line of counts, the same shape every time (for CI logs and files)."""
    pairs = "  ".join(f"{name} {value}" for name, value in zip(TOTALS, snapshot.totals(), strict=True))
    return f"{snapshot.elapsed:5.0f}s  {pairs}" + (f"  {snapshot.note}" if snapshot.note else "")


def view(snapshot: Snapshot, latency: Latency | None, payload: str | None) -> RenderableType:
    """The live view: totals, counts by log type, latency and a sample payload."""
    totals = Table(title=f"{snapshot.elapsed:.0f}s {snapshot.note}".rstrip(), title_justify="left")
    for name in TOTALS:
        totals.add_column(name, justify="right", style="green" if name == "delivered" else None)
    totals.add_row(*snapshot.totals())
    parts: list[RenderableType] = [Text(LEGEND, style="dim"), totals]
    if snapshot.by_type:
        types = Table("log type", "produced", "delivered", title="by log type", title_justify="left")
        ranked = sorted(snapshot.by_type.items(), key=lambda item: -item[1][0])
        for log_type, (made, arrived) in ranked[:TYPE_ROWS]:
            types.add_row(log_type, f"{made:,}", f"{arrived:,}")
        if rest := ranked[TYPE_ROWS:]:
            made, arrived = sum(r[1][0] for r in rest), sum(r[1][1] for r in rest)
            types.add_row(f"{len(rest)} other types", f"{made:,}", f"{arrived:,}", style="dim")
        parts.append(types)
    if latency is not None:
        parts.append(Text(f"date → delivery: {latency}", style="bold"))
    if payload:
        parts.append(Panel(Syntax(payload, "json", word_wrap=True), title="one payload as the receiver got it"))
    return Group(*parts)


class Progress:
    """Counts from the tally, the tenant and the receiver; shows them live or line by line."""

    def __init__(
        self,
        console: Console,
        tally: Tally,
        pipeline: Pipeline,
        stream: LogStream | None,
        webhook: WebhookReceiver | None,
    ) -> None:
        self.console, self.tally, self.pipeline, self.stream, self.webhook = console, tally, pipeline, stream, webhook
        self.started = time.monotonic()
        self.samples: list[Sample] = []
        self.delivered_types: Counter[str] = Counter()
        self.payload: str | None = None
        self._seen_deliveries = 0
        self._seen_ids: set[str] = set()
        self.live = (
            RichLive(console=console, auto_refresh=False, redirect_stdout=False, redirect_stderr=False)
            if console.is_terminal
            else None
        )

    def __enter__(self) -> Progress:
        if self.live:
            self.live.start()
        else:
            self.console.print(Text(LEGEND), soft_wrap=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.live.stop()

    def update(self, note: str = "") -> None:
        snapshot = self.snapshot(note)
        if self.live:
            self.live.update(view(snapshot, self.latency(), self.payload), refresh=True)
        else:
            self.console.print(plain_line(snapshot), markup=False, highlight=False, soft_wrap=True)

    def latency(self) -> Latency | None:
        return measured(self.samples) if self.samples else None

    def snapshot(self, note: str = "") -> Snapshot:
        self._read_deliveries()
        self.tally.refresh()  # the route records; if moto cannot answer now, the last counts show until the next
        with self.tally.lock:
            poller, deliverer = self.tally.poller, self.tally.deliverer
            read, queued, delivered, retried = poller.read, poller.enqueued, deliverer.delivered, deliverer.retried
            dead = self.tally.dead_lettered
        by_type: dict[str, tuple[int, int]] = {}
        if self.stream:
            made = Counter(str(e.get("type")) for e in self.stream.produced)
            by_type = {t: (n, self.delivered_types[t]) for t, n in made.items()}
        on_the_way = max(0, queued - delivered - self.tally.deliverer.dead_lettered)
        produced = len(self.stream.produced) if self.stream else None
        elapsed = time.monotonic() - self.started
        return Snapshot(elapsed, produced, read, queued, on_the_way, delivered, retried, dead, by_type, note)

    def _read_deliveries(self) -> None:
        """New logs at the local receiver: their type, their latency, and the first payload."""
        if self.webhook is None:
            return
        with self.webhook.lock:
            fresh = self.webhook.deliveries[self._seen_deliveries :]
            self._seen_deliveries += len(fresh)
        starts = sorted(self.pipeline.run_starts)
        for delivery in fresh:
            if not 200 <= delivery.status < 300:
                continue
            if self.payload is None and delivery.logs:
                self.payload = _pretty(delivery.logs)
            for entry in delivery.logs:  # as the receiver read them (gunzipped, lines split, unwrapped)
                log_id = str(entry.get("log_id"))
                if log_id in self._seen_ids:
                    continue
                self._seen_ids.add(log_id)
                self.delivered_types[str(entry.get("type"))] += 1
                date = _epoch(entry.get("date"))
                if date is not None and starts and date >= starts[0]:  # live logs, not the backlog
                    self.samples.append(sample(date, delivery.request.received_at, starts))


def _pretty(logs: list[dict[str, Any]]) -> str:
    """The first log, indented, at most SAMPLE_LINES lines."""
    lines = json.dumps(logs[0] if logs else None, indent=2).splitlines()
    return "\n".join(lines[:SAMPLE_LINES] + (["  …"] if len(lines) > SAMPLE_LINES else []))


def _epoch(date: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(date).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
