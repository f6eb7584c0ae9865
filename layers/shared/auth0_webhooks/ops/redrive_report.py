"""The redrive tool's report: what moved (or would, in a dry run), by route and dead-letter reason, and what stayed.

>>> report = RedriveReport(dry_run=True, moved=[Moved("m1", ("900a", "900b"), "HTTP 404", route="siem")])
>>> print(report.summary())
Would move 1 message (2 logs) to the queue.
  route siem: 1 message, 2 logs: HTTP 404
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from ..redaction import redact
from ..routes.formats import DEFAULT_ROUTE_ID

_Key = TypeVar("_Key")


@dataclass(frozen=True)
class Moved:
    """One dead-letter message whose logs moved (or would move, in a dry run)."""

    message_id: str
    log_ids: tuple[str, ...]
    reason: str  # its dead-letter reason
    kept_log_ids: tuple[str, ...] = ()  # logs of other types, put back in the dead-letter queue
    route: str = DEFAULT_ROUTE_ID


@dataclass(frozen=True)
class Skipped:
    """A dead-letter message that cannot be replayed: it stays where it is."""

    message_id: str
    problem: str
    reason: str
    route: str = DEFAULT_ROUTE_ID


@dataclass
class RedriveReport:
    dry_run: bool
    moved: list[Moved] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    not_matching: int = 0  # messages with no log of the types asked for
    other_routes: int = 0  # messages of routes other than the one asked for
    error: str | None = None  # why the run stopped early

    @property
    def moved_log_ids(self) -> list[str]:
        return sorted(i for m in self.moved for i in m.log_ids)

    def by_reason(self) -> dict[str, tuple[int, int]]:
        """Dead-letter reason → (messages, logs) moved."""
        return _count(self.moved, lambda m: m.reason)

    def by_route_and_reason(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(route, dead-letter reason) → (messages, logs) moved, routes in order of their ids."""
        return dict(sorted(_count(self.moved, lambda m: (m.route, m.reason)).items(), key=lambda item: item[0][0]))

    def summary(self) -> str:
        verb = "Would move" if self.dry_run else "Moved"
        lines = [f"{verb} {_n(len(self.moved), 'message')} ({_n(len(self.moved_log_ids), 'log')}) to the queue."]
        lines += [
            f"  route {route}: {_n(m, 'message')}, {_n(n, 'log')}: {redact(reason)}"
            for (route, reason), (m, n) in self.by_route_and_reason().items()
        ]
        kept = sum(len(m.kept_log_ids) for m in self.moved)
        if kept:
            lines.append(f"{_n(kept, 'log')} of other types from split messages stay in the dead-letter queue.")
        if self.not_matching:
            lines.append(f"{_n(self.not_matching, 'message')} with no log of the types asked for stay as they are.")
        if self.other_routes:
            stay = "stays" if self.other_routes == 1 else "stay"
            lines.append(f"{_n(self.other_routes, 'message')} of other routes {stay} as they are.")
        if self.skipped:
            lines.append(f"{_n(len(self.skipped), 'message')} cannot be replayed and stay in the dead-letter queue:")
            lines += [
                f"  {s.message_id}: {s.problem} (route {s.route}, reason: {redact(s.reason)})" for s in self.skipped
            ]
        return "\n".join(lines)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _count(moved: Sequence[Moved], key: Callable[[Moved], _Key]) -> dict[_Key, tuple[int, int]]:
    """key → (messages, logs), in the order first seen."""
    counts: dict[_Key, tuple[int, int]] = {}
    for m in moved:
        messages, logs = counts.get(key(m), (0, 0))
        counts[key(m)] = (messages + 1, logs + len(m.log_ids))
    return counts
