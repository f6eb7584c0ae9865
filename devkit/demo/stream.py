"""The local tenant's stream of logs: a backlog of history, then a few logs a second."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from ..logs import LogFactory, make_log_id
from ..receivers import WebhookReceiver
from ..tenant import LocalTenant
from .config import ATTACKER_IP, DemoConfig


class LogStream:
    """Feeds the local tenant: a backlog of history, then a few logs a second, with real dates.

    Mostly logins and token exchanges; now and then a burst of failed logins from one IP that
    ends with the account blocked. With faults, the 10th new log and every 150th after it is
    "poison": the receiver refuses (400) any request that carries it.
    """

    def __init__(self, tenant: LocalTenant, config: DemoConfig, webhook: WebhookReceiver | None) -> None:
        self.tenant, self.config, self.webhook = tenant, config, webhook
        self.random = random.Random(config.seed)
        self.factory = LogFactory(seed=config.seed, start=datetime.now(UTC) - timedelta(minutes=3))
        self.produced: list[dict[str, Any]] = []
        self.poison: set[str] = set()
        self._last = self.factory.when
        self._credit = 0.0
        self._live = 0  # logs made by tick()

    def backlog(self, count: int) -> None:
        """History: ``count`` logs spread over the last few minutes."""
        start, step = self._last, timedelta(seconds=150 / max(count, 1))
        self._add([self._make(None, start + step * (i + 1)) for i in range(count)], live=False)

    def tick(self, seconds: float) -> None:
        """This moment's new logs (about ``logs_per_second`` times ``seconds``, bursty)."""
        self._credit += self.config.logs_per_second * seconds * self.random.uniform(0.3, 1.7)
        count, self._credit = int(self._credit), self._credit % 1
        entries = [self._make() for _ in range(count)]
        if self.config.logs_per_second and self.random.random() < 0.08:  # someone tries passwords
            user = self.random.choice(self.factory.users)
            name = f"user{self.factory.users.index(user)}@example.com"
            burst = self.random.randint(6, 15)
            entries += [self._make("fp", ip=ATTACKER_IP, user_id=user, user_name=name) for _ in range(burst)]
            entries.append(self._make("limit_wc", ip=ATTACKER_IP, user_id=user, user_name=name))
        self._add(entries)

    def _make(self, log_type: str | None = None, when: datetime | None = None, **fields: Any) -> dict[str, Any]:
        when = max(when or datetime.now(UTC), self._last + timedelta(milliseconds=1))
        self.factory.when = when
        entry = self.factory.make(log_type, **fields)
        entry["date"] = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        entry["log_id"] = entry["_id"] = make_log_id(when, self.factory.seq)
        self._last = when
        return entry

    def _add(self, entries: list[dict[str, Any]], live: bool = True) -> None:
        if live and self.config.faults and self.webhook is not None:
            poison = [e["log_id"] for i, e in enumerate(entries, self._live) if i % 150 == 10]
            self._live += len(entries)
            with self.webhook.lock:
                self.webhook.failures.log_ids.update(dict.fromkeys(poison, 400))
            self.poison.update(poison)
        self.produced += entries
        self.tenant.add(entries)
