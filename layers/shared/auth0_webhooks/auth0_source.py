"""Tokens and log pages from the Auth0 Management API.

The token comes from a client-credentials grant (``POST /oauth/token``) and is kept until
shortly before it expires, across the invocations of a warm container. Both it and the log
pages are requested with ``requests`` through a session whose connections obey
:func:`deadline.deadline`: each exchange, a token's too, ends within its deadline however slowly
the tenant answers. (auth0-python's ``GetToken`` makes its own session, which no deadline can
reach, and it has no call for checkpoint mode, ``from``/``take``.)

Every call takes ``time_left``, a function returning the seconds this run may still spend;
waits for the rate limit and retries never go past it.

(Over 300 lines on purpose: the token and the log reads share one retry and rate-limit policy,
kept in one place so both endpoints are handled alike.)
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from . import clients
from .deadline import deadline, decode_text, read_capped
from .errors import Auth0Error, RateLimited
from .settings import Auth0Settings

if TYPE_CHECKING:
    from .ratelimit import RateLimiter

TimeLeft = Callable[[], float]

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds before each retry of a 5xx, timeout or garbled reply
# after a 429 whose x-ratelimit-reset is missing or already past: wait this long (the last one repeats);
# 429s never use up the retries above: the run waits for the limit, or ends cleanly when it cannot
RATE_LIMIT_WAITS = (1.0, 2.0, 4.0, 8.0)
TOKEN_LEEWAY_SECONDS = 60.0  # fetch a new token this long before the old one expires (at most half its life)
DEFAULT_TOKEN_LIFETIME = 86400.0  # when expires_in is missing or not a number (a 401 fetches a new one anyway)
CONNECT_TIMEOUT, READ_TIMEOUT = 3.05, 10.0
TOKEN_TIMEOUT = 5.0  # the deadline of one token exchange (or the time left, if less)
MAX_TOKEN_BYTES = 64 * 1024  # a token answer is about 1 KB
RESET_MARGIN_SECONDS = 0.05  # wait this much past x-ratelimit-reset
MAX_PAGE_BYTES = 16 * 1024 * 1024  # a page of 100 logs is ~150 KB; a reply this large is not a page of logs


def token_lifetime(expires_in: Any) -> float:
    """Seconds a token lives, from the reply's ``expires_in``; a default when it is not a positive number.

    >>> token_lifetime(86400), token_lifetime("30"), token_lifetime("soon"), token_lifetime(None), token_lifetime("nan")
    (86400.0, 30.0, 86400.0, 86400.0, 86400.0)
    """
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        return DEFAULT_TOKEN_LIFETIME
    return seconds if math.isfinite(seconds) and seconds > 0 else DEFAULT_TOKEN_LIFETIME


def rate_limit_wait(reset_in: float | None, streak: int) -> float:
    """How long to wait after a 429: until the reset, or a growing pause when the reset is unknown or past.

    >>> rate_limit_wait(5.0, 0), rate_limit_wait(None, 0), rate_limit_wait(-3.0, 1), rate_limit_wait(None, 9)
    (5.05, 1.0, 2.0, 8.0)
    """
    if reset_in is not None and reset_in > 0:
        return reset_in + RESET_MARGIN_SECONDS
    return RATE_LIMIT_WAITS[min(streak, len(RATE_LIMIT_WAITS) - 1)]


@dataclass(frozen=True)
class RateLimit:
    """The ``x-ratelimit-*`` headers of the last reply."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None  # UNIX seconds when tokens are next added

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit:
        def number(name: str) -> int | None:
            try:
                return int(float(headers[name]))
            except (KeyError, ValueError):
                return None

        return cls(number("x-ratelimit-limit"), number("x-ratelimit-remaining"), number("x-ratelimit-reset"))


@dataclass
class Page:
    """One reply's log entries, in the order Auth0 gave them, and what it took to get them."""

    logs: list[Any]
    texts: list[str] | None = None  # each entry's exact JSON text, when the reply was a bare array
    request_count: int = 0  # GET requests made for it, retries included
    rate_limit_waits: int = 0
    waited_seconds: float = 0.0
    retries: int = 0


class Auth0LogSource:
    """Reads the tenant's logs. Keep one per container: it holds the token and the session."""

    def __init__(
        self,
        settings: Auth0Settings,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.session = session or clients.http_session()  # its connections obey deadline()
        self.rate = RateLimit()
        self._clock, self._sleep = clock, sleep
        self._token: str | None = None
        self._token_refresh_at = 0.0
        self._token_lock = threading.Lock()  # threads reading slices share one token and fetch it once
        self.limiter: RateLimiter | None = None  # see limited_by
        self.tokens_fetched = 0

    # -- the two read modes ------------------------------------------------------------

    def after(self, checkpoint: str, take: int, time_left: TimeLeft) -> Page:
        """Checkpoint mode: up to ``take`` logs whose ``log_id`` follows ``checkpoint``, by log_id."""
        return self._get({"from": checkpoint, "take": take}, time_left)

    def oldest(self, time_left: TimeLeft) -> Page:
        """Search mode: the oldest log the tenant still keeps (an empty page if it has none)."""
        return self._get({"sort": "date:1", "page": 0, "per_page": 1, "include_totals": "false"}, time_left)

    def search(self, params: Mapping[str, Any], time_left: TimeLeft) -> Page:
        """Search mode with these parameters (``q``, ``sort``, ``page``, ``per_page``, ...): one page."""
        return self._get(dict(params), time_left)

    @contextmanager
    def limited_by(self, limiter: RateLimiter) -> Iterator[None]:
        """Each log request of this block first takes a token from ``limiter`` (a run's), before its deadline starts."""
        kept, self.limiter = self.limiter, limiter
        try:
            yield
        finally:
            self.limiter = kept

    # -- token -----------------------------------------------------------------------

    def token(self, time_left: TimeLeft, page: Page | None = None) -> str:
        """A Management API token, fetched again only when it is about to expire.

        Like a log read, a 5xx, a timeout or a dropped connection is retried, and a 429 is waited
        out (or ends the run with :class:`RateLimited` when it cannot be); waits are counted on ``page``.
        """
        with self._token_lock:
            return self._current_token(time_left, page)

    def _current_token(self, time_left: TimeLeft, page: Page | None) -> str:
        if self._token is not None and self._clock() < self._token_refresh_at:
            return self._token
        reply = self._fetch_token(time_left, page if page is not None else Page([]))
        lifetime = token_lifetime(reply.get("expires_in"))
        self._token = str(reply["access_token"])
        self._token_refresh_at = self._clock() + lifetime - min(TOKEN_LEEWAY_SECONDS, lifetime / 2)
        self.tokens_fetched += 1
        return self._token

    def _fetch_token(self, time_left: TimeLeft, page: Page) -> dict[str, Any]:
        """One client-credentials grant, each exchange within :data:`TOKEN_TIMEOUT` (or the time left)."""
        url = f"{self.settings.base_url}/oauth/token"
        where = f"token request to {url}"
        grant = {
            "grant_type": "client_credentials",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret.reveal(),
            "audience": self.settings.audience,
        }
        retries, throttled, problem = iter(RETRY_DELAYS), 0, ""
        while True:
            seconds = max(0.5, min(TOKEN_TIMEOUT, time_left()))
            try:
                with deadline(seconds) as watch:  # the whole exchange: a trickled answer cannot hold the run
                    reply = self.session.post(
                        url,
                        json=grant,
                        headers={"Accept": "application/json"},
                        timeout=(min(CONNECT_TIMEOUT, seconds), seconds),
                        stream=True,
                    )
                    body = read_capped(reply, MAX_TOKEN_BYTES)
            except (requests.Timeout, requests.ConnectionError) as error:
                cut = watch.fired or isinstance(error, requests.Timeout)
                problem = f"no complete answer within {seconds:g}s" if cut else type(error).__name__
            except requests.RequestException as error:
                raise Auth0Error(f"{where} failed: {type(error).__name__}") from None
            else:
                status, text = reply.status_code, decode_text(body, reply.headers.get("Content-Type"))
                if status == 200:
                    value = _json_object(text)
                    if value is not None:
                        if not value.get("access_token"):
                            raise Auth0Error(f"{where} returned no access_token")
                        return value
                    problem = "a reply that is not a JSON object"
                elif status == 429:
                    reset = RateLimit.from_headers(reply.headers).reset
                    reset_in = reset - self._clock() if reset is not None and reset > 0 else None
                    self._throttled(page, reset_in, throttled, time_left)
                    throttled += 1
                    continue  # a 429 is waited out, never counted as a retry
                elif status == 408 or status >= 500:
                    problem = f"HTTP {status}"
                else:
                    answer = _json_object(text) or {}
                    code = answer.get("error") or "error"
                    message = answer.get("error_description") or answer.get("message") or reply.reason or ""
                    raise Auth0Error(f"{where} failed: {status} {code}: {message}"[:500], status)
            if not self._pause_before_retry(next(retries, None), page, time_left):
                raise Auth0Error(f"{where} failed after {page.retries + 1} attempts; last: {problem}")

    # -- one GET with waits and retries ----------------------------------------------

    def _get(self, params: dict[str, Any], time_left: TimeLeft) -> Page:
        page = Page([])
        refreshed_token = False
        retries, throttled, problem = iter(RETRY_DELAYS), 0, ""
        while True:
            self._wait_for_tokens(page, time_left)
            used = self.token(time_left, page)
            headers = {"Authorization": f"Bearer {used}", "Accept": "application/json"}
            limiter = self.limiter
            if limiter is not None:  # wait for a token before the exchange's deadline starts
                limiter.acquire(time_left)
                sent_after = limiter.answered
            page.request_count += 1
            seconds = max(0.5, min(READ_TIMEOUT, time_left()))
            try:
                # the whole exchange within `seconds`: a peer trickling its answer cannot hold the run
                with deadline(seconds) as watch:
                    reply = self.session.get(
                        f"{self.settings.base_url}/api/v2/logs",
                        params=params,
                        headers=headers,
                        timeout=(CONNECT_TIMEOUT, seconds),
                        stream=True,
                    )
                    body = read_capped(reply, MAX_PAGE_BYTES)
            except (requests.Timeout, requests.ConnectionError) as error:
                if limiter is not None:
                    limiter.cancel()
                cut = watch.fired or isinstance(error, requests.Timeout)
                problem = f"no complete answer within {seconds:g}s" if cut else type(error).__name__
            else:
                if limiter is not None:
                    limiter.observe(reply.headers, sent_after)
                self.rate = RateLimit.from_headers(reply.headers)
                status = reply.status_code
                text = decode_text(body, reply.headers.get("Content-Type"))
                if status == 200:
                    entries = _entries(text) if len(body) < MAX_PAGE_BYTES else None
                    if entries is not None:
                        page.logs, page.texts = entries
                        return page
                    problem = "a reply that is not a JSON list of logs"
                elif status == 429:
                    reset = self.rate.reset
                    self._throttled(page, None if reset is None else reset - self._clock(), throttled, time_left)
                    throttled += 1
                    continue  # a 429 is waited out, never counted as a retry
                elif status == 401 and not refreshed_token:
                    with self._token_lock:  # unless another thread already fetched a new one
                        self._token = None if self._token == used else self._token
                    refreshed_token = True
                    continue
                elif status == 408 or status >= 500:
                    problem = f"HTTP {status}"
                else:
                    raise Auth0Error(
                        f"GET /api/v2/logs answered {status}: {_error_message(text, reply.reason)}", status
                    )
            if not self._pause_before_retry(next(retries, None), page, time_left):
                break
        raise Auth0Error(f"GET /api/v2/logs failed after {page.request_count} attempts; last: {problem}")

    def _pause_before_retry(self, delay: float | None, page: Page, time_left: TimeLeft) -> bool:
        """Sleep before the next try; ``False`` when the retries are spent or the run has no time for it."""
        if delay is None:
            return False
        pause = delay * random.uniform(0.5, 1.0)
        if pause >= time_left():
            return False
        page.retries += 1
        self._sleep(pause)
        return True

    def _throttled(self, page: Page, reset_in: float | None, streak: int, time_left: TimeLeft) -> None:
        """After a 429: wait for the reset (or a growing pause), or raise RateLimited if the run cannot."""
        wait = rate_limit_wait(reset_in, streak)
        if wait >= time_left():
            raise RateLimited(wait)
        page.rate_limit_waits += 1
        page.waited_seconds += wait
        self._sleep(wait)
        self.rate = RateLimit()  # waited: the next reply says how things stand

    def _wait_for_tokens(self, page: Page, time_left: TimeLeft) -> None:
        """Wait for the rate-limit bucket to refill when the last reply said it was empty."""
        if self.rate.remaining is None or self.rate.remaining > 0 or self.rate.reset is None:
            return
        wait = self.rate.reset - self._clock() + RESET_MARGIN_SECONDS
        if wait <= 0:
            return
        if wait >= time_left():
            raise RateLimited(wait)
        page.rate_limit_waits += 1
        page.waited_seconds += wait
        self._sleep(wait)


def _entries(text: str) -> tuple[list[Any], list[str] | None] | None:
    """The logs of a reply: a bare array (with each entry's text), or the ``logs`` of a search reply."""
    split = split_array(text)
    if split is not None:
        return split
    try:
        body = json.loads(text)
    except ValueError:
        return None
    logs = body.get("logs") if isinstance(body, dict) else None
    return (logs, None) if isinstance(logs, list) else None


_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _skip(text: str, position: int) -> int:
    """The position of the first character at or after ``position`` that is not JSON whitespace."""
    match = _WHITESPACE.match(text, position)
    return match.end() if match else position


_DECODER = json.JSONDecoder()


def split_array(text: str) -> tuple[list[Any], list[str]] | None:
    """The entries of a JSON array and the exact text of each; ``None`` if ``text`` is not an array.

    Keeping each log's own text lets the poller queue it without encoding it again.

    >>> split_array(' [{"log_id": "1"}, {"log_id":"2"} ] ')
    ([{'log_id': '1'}, {'log_id': '2'}], ['{"log_id": "1"}', '{"log_id":"2"}'])
    >>> split_array("[]"), split_array('{"logs": []}'), split_array("[1,")
    (([], []), None, None)
    """
    position = _skip(text, 0)
    if not text.startswith("[", position):
        return None
    values: list[Any] = []
    texts: list[str] = []
    position = _skip(text, position + 1)
    if not text.startswith("]", position):
        while True:
            try:
                value, end = _DECODER.raw_decode(text, position)
            except ValueError:
                return None
            values.append(value)
            texts.append(text[position:end])
            position = _skip(text, end)
            if text.startswith(",", position):
                position = _skip(text, position + 1)
            elif text.startswith("]", position):
                break
            else:
                return None
    return (values, texts) if _skip(text, position + 1) == len(text) else None


def _json_object(text: str) -> dict[str, Any] | None:
    """The JSON object ``text`` holds; ``None`` if it holds anything else.

    >>> _json_object('{"access_token": "t"}'), _json_object("[]"), _json_object("<html>")
    ({'access_token': 't'}, None, None)
    """
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _error_message(text: str, reason: str | None) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return reason or "no message"
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error_description") or body.get("error") or body)[:300]
    return str(body)[:300]
