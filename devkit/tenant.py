"""A local Auth0 tenant: ``/oauth/token`` and ``/api/v2/logs`` with the real wire format.

- Tokens: client-credentials grant (JSON or form body), audience ``https://<host>/api/v2/``.
- Logs: checkpoint mode (``from``/``take``, bare array ordered by log_id, ``Link: rel="next"``),
  search mode (``sort``, ``page``, ``per_page``, ``include_totals``, the 1,000-result cap),
  ``/api/v2/logs/{id}``.
- Users: ``add_users(profiles)``, ``/api/v2/users/{id}`` (scope ``read:users``, ``fields``/``include_fields``).
- Rate limit: a token bucket over the Management API with ``x-ratelimit-*`` headers, 429 beyond.
  Its clock can be injected (``TokenBucket(clock=…)``) for tests that must not depend on wall time.
- ``latency``: seconds added to every reply (a round trip to a distant tenant).
- Search mode's ``q`` understands date ranges (``date:[2026-11-01 TO *]``), as Auth0's does.
- Faults on request: 5xx, slow, trickled (log pages or tokens) and garbled replies, dropped connections.

It is what the tests and ``make demo`` talk to, through the same code that talks to a real tenant.
"""

from __future__ import annotations

import bisect
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from .http import LocalServer, Reply, Request

TOO_MANY = "Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers."


class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second; ``rate=None`` means no limit.

    An injected ``clock`` (UNIX seconds) is read for both the refill and ``x-ratelimit-reset``; ``lowest`` is the
    fewest tokens the bucket held after a request was granted.
    """

    def __init__(self, burst: int = 10, rate: float | None = None, clock: Callable[[], float] | None = None) -> None:
        self.burst, self.rate = burst, rate
        self.clock = clock or time.monotonic  # refills
        self.wall = clock or time.time  # x-ratelimit-reset
        self.tokens = float(burst)
        self.lowest = float(burst)
        self.at = self.clock()
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, dict[str, str]]:
        with self.lock:
            now = self.clock()
            if self.rate is None:
                return True, {
                    "x-ratelimit-limit": str(self.burst),
                    "x-ratelimit-remaining": str(self.burst),
                    "x-ratelimit-reset": str(math.ceil(self.wall())),
                }
            self.tokens = min(self.burst, self.tokens + max(0.0, now - self.at) * self.rate)
            self.at = max(self.at, now)
            allowed = self.tokens >= 1
            if allowed:
                self.tokens -= 1
                self.lowest = min(self.lowest, self.tokens)
            next_token_in = (1 - (self.tokens % 1)) / self.rate
            headers = {
                "x-ratelimit-limit": str(self.burst),
                "x-ratelimit-remaining": str(int(self.tokens)),
                "x-ratelimit-reset": str(math.ceil(self.wall() + next_token_in)),
            }
            return allowed, headers


@dataclass
class Faults:
    """What the next requests to ``/api/v2/logs`` should suffer. Counts go down as they are used."""

    fail: int = 0
    fail_status: int = 503
    garble: int = 0
    drop: int = 0
    slow_seconds: float = 0.0
    trickle_seconds: float = 0.0  # log pages are sent one byte every this many seconds
    token_fail: int = 0  # /oauth/token answers 503
    token_throttle: int = 0  # /oauth/token answers 429 without x-ratelimit-reset
    token_expires_in: Any = None  # what /oauth/token says in expires_in instead of token_ttl
    token_trickle_seconds: float = 0.0  # /oauth/token sends its answer one byte every this many seconds
    throttle_after: int = 0  # requests to /api/v2/logs answered before ``throttle`` starts
    throttle: int = 0  # /api/v2/logs answers 429 whatever the bucket holds
    throttle_reset: str | None = None  # the x-ratelimit-reset of those 429s (None: no such header)
    reverse_pages: bool = False  # checkpoint pages come newest first (not in log_id order)
    ignore_from: bool = False  # checkpoint mode answers from the oldest log, as a broken tenant would
    forget_tokens_after: int | None = None  # after this many more log requests, every token is forgotten (a 401)


@dataclass
class Stats:
    token_requests: int = 0
    log_requests: int = 0
    answered_429: int = 0
    answered_5xx: int = 0
    calls: list[tuple[str, dict[str, str], int]] = field(default_factory=list)  # (path, query, status)


class LocalTenant(LocalServer):
    """The tenant. ``add(logs)`` to make logs appear; ``faults`` and ``bucket`` to misbehave."""

    def __init__(
        self,
        client_id: str = "local-client",
        client_secret: str = "local-secret-do-not-log",
        scope: str = "read:logs",
        token_ttl: int = 86400,
        bucket: TokenBucket | None = None,
        port: int = 0,
        latency: float = 0.0,
        users_bucket: TokenBucket | None = None,
    ) -> None:
        """``users_bucket``: the user look-ups' own rate limit, as Auth0's paid plans give that endpoint
        family (about 150 a minute, burst 10); None: they share ``bucket`` with the log reads (the Free plan)."""
        super().__init__(port)
        self.latency = latency  # seconds added to every reply
        self.clients = {client_id: client_secret}
        self.scope, self.token_ttl = scope, token_ttl
        self.bucket = bucket or TokenBucket(burst=50, rate=None)
        self.users_bucket = users_bucket
        self.faults = Faults()
        self.stats = Stats()
        self.tokens: dict[str, tuple[float, str]] = {}  # token -> (expires at, scope)
        self._keys: list[str] = []  # sort keys, parallel to _logs
        self._logs: list[Any] = []
        self.users: dict[str, dict[str, Any]] = {}  # user_id -> profile
        self.user_requests = 0

    # -- the tenant's logs -------------------------------------------------------------

    def forget_before(self, key: str) -> None:
        """Drop the logs that sort before ``key``, as retention does."""
        with self.lock:
            start = bisect.bisect_left(self._keys, key)
            del self._keys[:start], self._logs[:start]

    def add(self, entries: list[Any], keys: list[str] | None = None) -> None:
        """Store entries; each sorts by its log_id (or ``_id``), or by the key given for it."""
        with self.lock:
            for index, entry in enumerate(entries):
                key = keys[index] if keys else (entry.get("log_id") or entry.get("_id"))
                at = bisect.bisect_right(self._keys, key)
                self._keys.insert(at, key)
                self._logs.insert(at, entry)

    def add_users(self, profiles: list[dict[str, Any]]) -> None:
        """Store user profiles (each with ``user_id``, and e.g. ``email``, ``email_verified``, ``name``)."""
        with self.lock:
            self.users.update({profile["user_id"]: profile for profile in profiles})

    @property
    def logs(self) -> list[Any]:
        with self.lock:
            return list(self._logs)

    # -- HTTP --------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        if request.method == "POST" and request.path == "/oauth/token":
            reply = self._token(request)
            reply.trickle = self.faults.token_trickle_seconds
            return reply
        if request.method == "GET" and request.path.startswith("/api/v2/logs"):
            reply = self._api(request)
            reply.delay += self.latency
            with self.lock:
                self.stats.log_requests += 1
                self.stats.answered_429 += reply.status == 429
                self.stats.answered_5xx += reply.status >= 500
                self.stats.calls.append((request.path, request.query, reply.status))
            return reply
        if request.method == "GET" and request.path.startswith("/api/v2/users/"):
            with self.lock:
                self.user_requests += 1
            return self._api(request, "read:users")
        return Reply.json({"statusCode": 404, "error": "Not Found", "message": "Not Found"}, 404)

    def _token(self, request: Request) -> Reply:
        with self.lock:
            self.stats.token_requests += 1
            if self.faults.token_fail:
                self.faults.token_fail -= 1
                return Reply.json({"error": "server_error", "error_description": "try again"}, 503)
            if self.faults.token_throttle:
                self.faults.token_throttle -= 1
                return Reply.json({"error": "too_many_requests", "error_description": "Too many requests"}, 429)
        if "json" in request.headers.get("content-type", ""):
            body = request.json() or {}
        else:
            body = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        if body.get("grant_type") != "client_credentials":
            return Reply.json({"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}, 400)
        client_id, secret = body.get("client_id"), body.get("client_secret")
        if client_id not in self.clients or not secrets.compare_digest(str(secret), self.clients[client_id]):
            return Reply.json({"error": "access_denied", "error_description": "Unauthorized"}, 401)
        host = request.headers.get("host", "")
        if body.get("audience") != f"https://{host}/api/v2/":
            return Reply.json(
                {
                    "error": "access_denied",
                    "error_description": f"Service not enabled within domain: {body.get('audience')}",
                },
                403,
            )
        token = secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = (time.time() + self.token_ttl, self.scope)
        expires_in = self.token_ttl if self.faults.token_expires_in is None else self.faults.token_expires_in
        return Reply.json(
            {"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "scope": self.scope}
        )

    def _api(self, request: Request, needs: str = "read:logs") -> Reply:
        bucket = self.users_bucket if needs == "read:users" and self.users_bucket is not None else self.bucket
        allowed, headers = bucket.take()
        headers["Content-Type"] = "application/json"
        with self.lock:
            if self.faults.throttle_after:
                self.faults.throttle_after -= 1
            elif self.faults.throttle:
                self.faults.throttle -= 1
                allowed = False
                headers.pop("x-ratelimit-reset", None)
                headers["x-ratelimit-remaining"] = "0"
                if self.faults.throttle_reset is not None:
                    headers["x-ratelimit-reset"] = self.faults.throttle_reset
            if self.faults.forget_tokens_after is not None:
                self.faults.forget_tokens_after -= 1
                if self.faults.forget_tokens_after < 0:
                    self.faults.forget_tokens_after = None
                    self.tokens.clear()
        if not allowed:
            return Reply.json(
                {
                    "statusCode": 429,
                    "error": "Too Many Requests",
                    "message": TOO_MANY,
                    "errorCode": "too_many_requests",
                },
                429,
                headers,
            )
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else ""
        expires, scope = self.tokens.get(token, (0.0, ""))
        if expires < time.time():
            return Reply.json(
                {"statusCode": 401, "error": "Unauthorized", "message": "Invalid token", "errorCode": "invalid_token"},
                401,
                headers,
            )
        if needs not in scope.split():
            expected = "read:logs,read:logs_users" if needs == "read:logs" else needs
            return Reply.json(
                {
                    "statusCode": 403,
                    "error": "Forbidden",
                    "message": f"Insufficient scope, expected any of: {expected}",
                    "errorCode": "insufficient_scope",
                },
                403,
                headers,
            )
        if needs == "read:users":
            reply = self._user(request)
            reply.headers.update(headers)
            return reply
        with self.lock:
            faults = self.faults
            delay = faults.slow_seconds
            if faults.drop:
                faults.drop -= 1
                return Reply(drop=True, delay=delay)
            if faults.fail:
                faults.fail -= 1
                return Reply.json(
                    {
                        "statusCode": faults.fail_status,
                        "error": "Service Unavailable",
                        "message": "Service Unavailable",
                    },
                    faults.fail_status,
                    headers,
                )
            if faults.garble:
                faults.garble -= 1
                return Reply(200, b"<html><body>upstream error</body></html>", {"Content-Type": "text/html"}, delay)
        reply = self._log_by_id(request) if request.path.startswith("/api/v2/logs/") else self._list(request)
        reply.headers.update(headers)
        reply.delay, reply.trickle = delay, self.faults.trickle_seconds
        return reply

    def _log_by_id(self, request: Request) -> Reply:
        wanted = request.path.rsplit("/", 1)[1]
        for entry in self.logs:
            if isinstance(entry, dict) and wanted in (entry.get("log_id"), entry.get("_id")):
                return Reply.json(entry)
        return Reply.json(
            {"statusCode": 404, "error": "Not Found", "message": "Log not found", "errorCode": "inexistent_log"}, 404
        )

    def _user(self, request: Request) -> Reply:
        wanted = unquote(request.path.removeprefix("/api/v2/users/"))
        with self.lock:
            profile = self.users.get(wanted)
        if profile is None:
            return Reply.json(
                {
                    "statusCode": 404,
                    "error": "Not Found",
                    "message": "The user does not exist.",
                    "errorCode": "inexistent_user",
                },
                404,
            )
        fields = [f for f in request.query.get("fields", "").split(",") if f]
        if fields and request.query.get("include_fields", "true") == "true":
            profile = {name: value for name, value in profile.items() if name in fields}
        elif fields:
            profile = {name: value for name, value in profile.items() if name not in fields}
        return Reply.json(profile)

    def _list(self, request: Request) -> Reply:
        query = request.query
        if "from" in query:
            return self._checkpoint_page(request, query["from"], query.get("take", "50"))
        return self._search_page(query)

    def _checkpoint_page(self, request: Request, after: str, take_text: str) -> Reply:
        if not take_text.isdigit() or not 1 <= int(take_text) <= 100:
            return _bad_request("Query validation error: 'take' must be an integer between 1 and 100")
        take = int(take_text)
        with self.lock:
            start = 0 if self.faults.ignore_from else bisect.bisect_right(self._keys, after)
            page = self._logs[start : start + take]
            last = self._keys[start + len(page) - 1] if page else after
            if self.faults.reverse_pages:
                page = page[::-1]
        host = request.headers.get("host", "")
        link = f'<http://{host}/api/v2/logs?from={last}&take={take}>; rel="next"'
        return Reply.json(page, headers={"Link": link})

    def _search_page(self, query: dict[str, str]) -> Reply:
        page_text, per_page_text = query.get("page", "0"), query.get("per_page", "50")
        if not page_text.isdigit() or not per_page_text.isdigit() or not 1 <= int(per_page_text) <= 100:
            return _bad_request("Query validation error: 'per_page' must be an integer between 1 and 100")
        page, per_page = int(page_text), int(per_page_text)
        if (page + 1) * per_page > 1000:
            return _bad_request("You can only page through the first 1000 records.", "invalid_paging")
        entries = [e for e in self.logs if isinstance(e, dict)]
        if query.get("q") or query.get("search"):
            matches = _date_filter(query.get("q") or query.get("search") or "")
            if matches is None:
                return _bad_request("Query validation error: this local tenant understands only q=date:[A TO B]")
            entries = [e for e in entries if matches(e)]
        if query.get("sort") in ("date:1", "date:-1"):
            entries.sort(key=lambda e: str(e.get("date", "")), reverse=query["sort"] == "date:-1")
        chunk = entries[page * per_page : (page + 1) * per_page]
        if query.get("include_totals") == "true":
            return Reply.json(
                {"start": page * per_page, "limit": per_page, "length": len(chunk), "total": len(chunk), "logs": chunk}
            )
        return Reply.json(chunk)


_DATE_RANGE = re.compile(r'^date:([\[{])\s*"?([^"\s]+)"?\s+TO\s+"?([^"\s]+)"?\s*([\]}])$')


def _date_filter(q: str) -> Callable[[Any], bool] | None:
    """A predicate for ``date:[A TO B]`` (``{``/``}`` exclusive, ``*`` open, dates or full ISO times)."""
    match = _DATE_RANGE.match(q.strip())
    if match is None:
        return None
    opening, low_text, high_text, closing = match.groups()
    try:
        low = None if low_text == "*" else _instant(low_text)
        high = None if high_text == "*" else _instant(high_text)
    except ValueError:
        return None

    def matches(entry: Any) -> bool:
        try:
            when = _instant(str(entry.get("date", "")))
        except ValueError:
            return False
        above = low is None or (when > low if opening == "{" else when >= low)
        below = high is None or (when < high if closing == "}" else when <= high)
        return above and below

    return matches


def _instant(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _bad_request(message: str, code: str = "invalid_query_string") -> Reply:
    return Reply.json({"statusCode": 400, "error": "Bad Request", "message": message, "errorCode": code}, 400)
