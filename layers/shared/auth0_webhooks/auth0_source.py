"""Tokens and log pages from the Auth0 Management API.

The token comes from auth0-python's ``GetToken`` (client-credentials grant) and is kept
until shortly before it expires, across the invocations of a warm container. Log pages
are read with ``requests``: auth0-python has no call for checkpoint mode (``from``/``take``).

Every call takes ``time_left``, a function returning the seconds this run may still spend;
waits for the rate limit and retries never go past it.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from .errors import Auth0Error, RateLimited
from .settings import Auth0Settings

TimeLeft = Callable[[], float]

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)  # seconds before each retry of a 5xx, timeout or garbled reply
TOKEN_LEEWAY_SECONDS = 60.0  # fetch a new token this long before the old one expires
CONNECT_TIMEOUT, READ_TIMEOUT = 3.05, 10.0
TOKEN_TIMEOUT = 5.0
RESET_MARGIN_SECONDS = 0.05  # wait this much past x-ratelimit-reset


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
        self.session = session or requests.Session()
        self.rate = RateLimit()
        self._clock, self._sleep = clock, sleep
        self._token: str | None = None
        self._token_expires = 0.0
        self.tokens_fetched = 0

    # -- the two read modes ------------------------------------------------------------

    def after(self, checkpoint: str, take: int, time_left: TimeLeft) -> Page:
        """Checkpoint mode: up to ``take`` logs whose ``log_id`` follows ``checkpoint``, by log_id."""
        return self._get({"from": checkpoint, "take": take}, time_left)

    def oldest(self, time_left: TimeLeft) -> Page:
        """Search mode: the oldest log the tenant still keeps (an empty page if it has none)."""
        return self._get({"sort": "date:1", "page": 0, "per_page": 1, "include_totals": "false"}, time_left)

    # -- token -----------------------------------------------------------------------

    def token(self, time_left: TimeLeft) -> str:
        """A Management API token, fetched again only when it is about to expire."""
        if self._token is not None and self._clock() < self._token_expires - TOKEN_LEEWAY_SECONDS:
            return self._token
        from auth0.authentication import GetToken  # imported on first use: a warm run never needs it
        from auth0.authentication.exceptions import Auth0Error as SdkError
        from auth0.authentication.exceptions import RateLimitError

        scheme, _, domain = self.settings.base_url.partition("://")
        client = GetToken(
            domain,
            self.settings.client_id,
            client_secret=self.settings.client_secret.reveal(),
            protocol=scheme,
            timeout=max(0.5, min(TOKEN_TIMEOUT, time_left())),
        )
        try:
            reply = client.client_credentials(self.settings.audience)
        except RateLimitError as error:
            raise RateLimited(max(0.0, error.reset_at - self._clock())) from None
        except SdkError as error:
            raise Auth0Error(
                f"token request to {self.settings.base_url}/oauth/token failed: "
                f"{error.status_code} {error.error_code}: {error.message}",
                error.status_code,
            ) from None
        except requests.RequestException as error:
            raise Auth0Error(
                f"token request to {self.settings.base_url}/oauth/token failed: {type(error).__name__}"
            ) from None
        if not isinstance(reply, dict) or not reply.get("access_token"):
            raise Auth0Error(f"token request to {self.settings.base_url}/oauth/token returned no access_token")
        self._token = str(reply["access_token"])
        self._token_expires = self._clock() + float(reply.get("expires_in", 86400))
        self.tokens_fetched += 1
        return self._token

    # -- one GET with waits and retries ----------------------------------------------

    def _get(self, params: dict[str, Any], time_left: TimeLeft) -> Page:
        page = Page([])
        refreshed_token = False
        problem = ""
        for delay in (*RETRY_DELAYS, None):
            self._wait_for_tokens(page, time_left)
            headers = {"Authorization": f"Bearer {self.token(time_left)}", "Accept": "application/json"}
            page.request_count += 1
            try:
                reply = self.session.get(
                    f"{self.settings.base_url}/api/v2/logs",
                    params=params,
                    headers=headers,
                    timeout=(CONNECT_TIMEOUT, max(0.5, min(READ_TIMEOUT, time_left()))),
                )
            except (requests.Timeout, requests.ConnectionError) as error:
                problem = type(error).__name__
            else:
                self.rate = RateLimit.from_headers(reply.headers)
                status = reply.status_code
                if status == 200:
                    entries = _entries(reply)
                    if entries is not None:
                        page.logs, page.texts = entries
                        return page
                    problem = "a reply that is not a JSON list of logs"
                elif status == 429:
                    problem = "HTTP 429"
                    self.rate = RateLimit(self.rate.limit, 0, self.rate.reset or self._clock() + 1)
                    continue  # _wait_for_tokens waits for the reset, or ends the run if it cannot
                elif status == 401 and not refreshed_token:
                    self._token, refreshed_token = None, True
                    continue
                elif status == 408 or status >= 500:
                    problem = f"HTTP {status}"
                else:
                    raise Auth0Error(f"GET /api/v2/logs answered {status}: {_error_message(reply)}", status)
            if delay is None:
                break
            pause = delay * random.uniform(0.5, 1.0)
            if pause >= time_left():
                break
            page.retries += 1
            self._sleep(pause)
        raise Auth0Error(f"GET /api/v2/logs failed after {page.request_count} attempts; last: {problem}")

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


def _entries(reply: requests.Response) -> tuple[list[Any], list[str] | None] | None:
    """The logs of a reply: a bare array (with each entry's text), or the ``logs`` of a search reply."""
    text = reply.content.decode(reply.encoding or "utf-8", errors="replace")
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


def _error_message(reply: requests.Response) -> str:
    try:
        body = reply.json()
    except ValueError:
        return reply.reason or "no message"
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error_description") or body.get("error") or body)[:300]
    return str(body)[:300]
