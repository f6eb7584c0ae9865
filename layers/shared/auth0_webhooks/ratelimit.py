"""One client-side token bucket for every reader of a tenant, fed by the ``x-ratelimit-*`` headers.

Auth0's Management API limits a tenant with a token bucket (``x-ratelimit-limit`` tokens, refilled at
a rate it does not send). Readers that share this process share :class:`RateLimiter`: it keeps an
estimate of the tenant's bucket, takes one token per request and waits when only the reserve is left
(``reserve``, a share of the bucket that is never drawn, left to the tenant's own apps). Each reply
sets the estimate to what the tenant reports, less the requests of ours still in flight (a rise is
discounted as far again, since replies may arrive out of order); the refill
rate is learned from how the reported tokens grow, starting from a guess that no plan's rate is below
(the bucket refilled in 6 s).

The poller puts a run's limiter on its source (:meth:`Auth0LogSource.limited_by`), which takes a
token before each request's deadline starts. :class:`LimitedAdapter` puts the limiter under a
``requests`` session instead (its wait then counts against an enclosing exchange deadline): every ``/api/v2/`` request
sent through it takes a token first, so :class:`~auth0_webhooks.auth0_source.Auth0LogSource` and any
number of threads sharing the session draw from the one bucket.

>>> now = [0.0]  # a clock that moves only when the limiter sleeps
>>> limiter = RateLimiter(reserve=0.2, rate=10, clock=lambda: now[0], sleep=lambda s: now.append(now.pop() + s))
>>> limiter.observe({"x-ratelimit-limit": "10", "x-ratelimit-remaining": "10"})
>>> [limiter.acquire(lambda: 60) for _ in range(8)] == [0.0] * 8  # 10 tokens, 2 reserved
True
>>> limiter.acquire(lambda: 60)  # the ninth waits for a token: a tenth of a second at 10/s
0.1
"""

from __future__ import annotations

import os
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from .auth0_source import TimeLeft
from .deadline import DeadlineAdapter
from .errors import ConfigError, RateLimited

DEFAULT_RESERVE = 0.2  # RATE_LIMIT_RESERVE's default: a fifth of the bucket stays for others
MAX_RESERVE = 0.9  # at least a tenth of the bucket stays ours
INITIAL_RATE = 1.0  # tokens/s assumed before the first reply says how large the bucket is
# Until the refill rate is learned, assume the bucket refills in this long: Auth0's buckets refill in
# 1 to 6 s (Free: 2 at 2/s; Enterprise: 50 at 16/s; Essentials' logs: 10 at 100/min), so the guess
# is never above a plan's rate.
SLOWEST_REFILL_SECONDS = 6.0
MIN_RATE = 0.1  # tokens/s: a learned rate never goes below this (other clients may hide the refill)
LEARNED_RATE_SHARE = 0.95  # use this share of the learned refill rate: the count behind it is noisy
LEARN_AFTER_SECONDS = 2.0  # learn the refill rate over at least this long a stretch of replies
MIN_WAIT_SECONDS = 0.001  # a wait shorter than this would not move a clock in UNIX seconds
EPSILON = 1e-6  # tokens: float noise from clocks in UNIX seconds
LIMITED_PATH = "/api/v2/"  # token requests (/oauth/token) are limited separately by Auth0


def parse_reserve(raw: str | None) -> float:
    """``RATE_LIMIT_RESERVE``: a share of the bucket left to others, as ``0.2`` or ``20%``; unset is 20%.

    >>> parse_reserve(None), parse_reserve("35%"), parse_reserve("0")
    (0.2, 0.35, 0.0)
    >>> parse_reserve("95%")
    Traceback (most recent call last):
    ...
    auth0_webhooks.errors.ConfigError: RATE_LIMIT_RESERVE must be a share of the rate limit left to the \
tenant's other clients, from 0 to 0.9 (or 0% to 90%); got '95%'
    """
    allowed = "a share of the rate limit left to the tenant's other clients, from 0 to 0.9 (or 0% to 90%)"
    if raw is None or not raw.strip():
        return DEFAULT_RESERVE
    text = raw.strip()
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ConfigError("RATE_LIMIT_RESERVE", allowed, got=raw) from None
    if not 0.0 <= share <= MAX_RESERVE:
        raise ConfigError("RATE_LIMIT_RESERVE", allowed, got=raw)
    return share


@dataclass(frozen=True)
class RateLimitStats:
    """What the limiter did: tokens taken, waits and their total, and the rate it believes in."""

    taken: int
    waits: int
    waited_seconds: float
    rate: float
    limit: int | None


class RateLimiter:
    """The tenant's bucket as this process sees it. Thread-safe; inject ``clock`` and ``sleep`` in tests."""

    def __init__(
        self,
        reserve: float = DEFAULT_RESERVE,
        rate: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0.0 <= reserve < 1.0:
            raise ValueError(f"reserve must be a share from 0 to below 1; got {reserve}")
        self.reserve = reserve
        self.learn = rate is None
        self.rate = INITIAL_RATE if rate is None else rate
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self.limit: int | None = None
        self.tokens = 1.0  # until the first reply: one request at a time
        self._at = clock()
        self.in_flight = 0
        self._answered = 0  # replies observed, for learning the rate
        self._baseline: tuple[float, int, int] | None = None  # (time, remaining, answered) of a reply
        self._taken = self._waits = 0
        self._waited = 0.0

    # -- taking and giving back ----------------------------------------------------------

    def acquire(self, time_left: TimeLeft) -> float:
        """Take a token above the reserve, waiting for one if needed; returns the seconds waited.

        Raises :class:`RateLimited` when the wait would not end before ``time_left()`` runs out.
        """
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                floor = self.reserve * self.limit if self.limit is not None else 0.0
                if self.tokens - 1.0 >= floor - EPSILON:
                    self.tokens -= 1.0
                    self.in_flight += 1
                    self._taken += 1
                    if waited:
                        self._waits += 1
                        self._waited += waited
                    return waited
                wait = max(MIN_WAIT_SECONDS, (floor + 1.0 - self.tokens) / self.rate)
            if wait >= time_left():
                raise RateLimited(wait)
            self._sleep(wait)
            waited += wait

    @property
    def answered(self) -> int:
        """Replies observed so far: read it when a request is sent, and give it to :meth:`observe`."""
        with self._lock:
            return self._answered

    def observe(self, headers: Mapping[str, str], sent_after: int | None = None) -> None:
        """A reply arrived: believe the tenant's count, less our other requests still in flight.

        ``sent_after``: :attr:`answered` when this request was sent. Replies of requests sent later
        may have been counted by the tenant after this one and observed before it.
        """
        limit, remaining = _number(headers, "x-ratelimit-limit"), _number(headers, "x-ratelimit-remaining")
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)
            self._answered += 1
            if limit is None or remaining is None:
                if self.limit is None:  # nothing learned yet (a 5xx without headers): one request at a time
                    self.tokens = max(self.tokens, 1.0 - self.in_flight)
                return
            now = self._clock()
            self._refill()
            if self.learn and self.limit is None:
                self.rate = max(MIN_RATE, limit / SLOWEST_REFILL_SECONDS)
            self.limit = limit
            # the tenant counted this request and maybe some of ours still in flight: assume none of them
            told = float(remaining - self.in_flight)
            if told > self.tokens:
                # replies can arrive out of order: this one may not count the requests whose replies came
                # since it was sent, nor those still in flight, so a rise is believed only that far
                overtaken = self._answered - 1 - sent_after if sent_after is not None else self.in_flight
                told = max(self.tokens, told - max(overtaken, 0) - self.in_flight)
            self.tokens = min(float(limit), told)
            if self.learn:
                self._learn(now, remaining, limit)

    def cancel(self) -> None:
        """A request that took a token got no reply (a dropped connection): it is no longer in flight."""
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)
            if self.limit is None:  # nothing learned yet: one request at a time
                self.tokens = max(self.tokens, 1.0 - self.in_flight)

    def stats(self) -> RateLimitStats:
        with self._lock:
            return RateLimitStats(self._taken, self._waits, round(self._waited, 3), self.rate, self.limit)

    # -- the estimate --------------------------------------------------------------------

    def _refill(self) -> None:
        now = self._clock()
        if self.limit is not None:
            self.tokens = min(float(self.limit), self.tokens + max(0.0, now - self._at) * self.rate)
        self._at = max(self._at, now)

    def _learn(self, now: float, remaining: int, limit: int) -> None:
        """Refill rate = (tokens gained + our requests answered) / time, over a stretch the bucket was not full.

        Other clients of the tenant only make the estimate lower (safe); a full bucket wastes its refill,
        so a stretch starts again whenever a reply says it is full.
        """
        if remaining >= limit or self._baseline is None:
            self._baseline = None if remaining >= limit else (now, remaining, self._answered)
            return
        since, was, answered = self._baseline
        elapsed = now - since
        if elapsed >= LEARN_AFTER_SECONDS:
            # replies out of order make the count wrong by up to one per request in flight: assume the worst
            gained = remaining - was + (self._answered - answered) - self.in_flight
            self.rate = max(MIN_RATE, LEARNED_RATE_SHARE * gained / elapsed)


class LimitedAdapter(DeadlineAdapter):
    """An ``HTTPAdapter`` that takes a token from ``limiter`` for each ``/api/v2/`` request.

    Its connections obey :func:`~auth0_webhooks.deadline.deadline`, like :func:`clients.http_session`'s.

    ``time_left`` bounds the waits (set it per run); a wait too long raises :class:`RateLimited`.
    """

    def __init__(self, limiter: RateLimiter, time_left: TimeLeft = lambda: float("inf"), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limiter, self.time_left = limiter, time_left

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if LIMITED_PATH not in (request.path_url or ""):
            return super().send(request, *args, **kwargs)
        self.limiter.acquire(self.time_left)
        sent_after = self.limiter.answered
        try:
            response = super().send(request, *args, **kwargs)
        except Exception:
            self.limiter.cancel()
            raise
        self.limiter.observe(response.headers, sent_after)
        return response


def limited_session(limiter: RateLimiter, time_left: TimeLeft, pool_size: int = 16) -> requests.Session:
    """A session whose Management API requests all draw from ``limiter``."""
    session = requests.Session()
    if not urllib.request.getproxies():  # as clients.http_session: no environment scan per request
        session.trust_env = False
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    adapter = LimitedAdapter(limiter, time_left, pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _number(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(float(headers[name]))
    except (KeyError, ValueError, TypeError):
        return None
