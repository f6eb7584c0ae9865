"""Who a log is about: ``GET /api/v2/users/{user_id}`` (scope ``read:users``), cached, rate-limit aware.

The address always comes from the user's profile, looked up by the log's ``user_id``; never from
``user_name``, which on a failed login is whatever was typed (often someone else's address).
A 429, a 5xx or a network error is a :attr:`Lookup.retry` (the mail waits, it is never dropped: the
deliverer puts it back without spending an attempt, for the seconds ``Retry-After`` or ``x-ratelimit-reset`` say);
a 404 is "no such user" (a deleted user, a failed login for an unknown name).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

import requests

from .event import Recipient

TokenProvider = Callable[[], str]
FIELDS = "user_id,email,email_verified,name"


@dataclass(frozen=True)
class LookupPolicy:
    """How long a profile is kept, how many are kept, how long a request may take."""

    cache_seconds: float = 300.0
    cache_size: int = 1000
    connect_timeout_seconds: float = 2.0
    read_timeout_seconds: float = 4.0
    default_retry_seconds: float = 60.0  # a 5xx or 429 without x-ratelimit-reset waits this long


@dataclass(frozen=True)
class Lookup:
    """``found`` (with the recipient), ``not_found``, ``retry`` (after ``retry_after`` s) or ``failed``."""

    status: Literal["found", "not_found", "retry", "failed"]
    recipient: Recipient | None = None
    reason: str = ""
    retry_after: float = 0.0


class UserDirectory:
    """Looks users up on the tenant at ``base_url`` (``https://tenant.auth0.com``).

    ``token`` returns a Management API token with ``read:users`` (the app's token provider).
    """

    def __init__(
        self,
        base_url: str,
        token: TokenProvider,
        session: requests.Session,
        policy: LookupPolicy = LookupPolicy(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token, self.session, self.policy, self.clock = token, session, policy, clock
        self._cache: OrderedDict[str, tuple[float, Lookup]] = OrderedDict()
        self._lock = threading.Lock()  # the deliverer notifies from several threads; look-ups run unlocked
        self.requests_made = 0

    def lookup(self, user_id: str) -> Lookup:
        """The user's profile, from the cache when fresh."""
        if not user_id:
            return Lookup("not_found", reason="the log has no user_id")
        with self._lock:
            cached = self._cache.get(user_id)
            if cached and cached[0] > self.clock():
                self._cache.move_to_end(user_id)
                return cached[1]
        result = self._fetch(user_id)
        if result.status in ("found", "not_found"):
            with self._lock:
                self._cache[user_id] = (self.clock() + self.policy.cache_seconds, result)
                self._cache.move_to_end(user_id)
                while len(self._cache) > self.policy.cache_size:
                    self._cache.popitem(last=False)
        return result

    def _fetch(self, user_id: str) -> Lookup:
        url = f"{self.base_url}/api/v2/users/{quote(user_id, safe='')}"
        try:
            token = self.token()
            self.requests_made += 1
            reply = self.session.get(
                url,
                params={"fields": FIELDS, "include_fields": "true"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=(self.policy.connect_timeout_seconds, self.policy.read_timeout_seconds),
            )
        except requests.RequestException as error:
            return Lookup("retry", reason=f"user look-up failed: {type(error).__name__}", retry_after=self._default())
        except Exception as error:  # the token provider's own errors (rate limit, refused credentials)
            reason = f"no Management API token: {type(error).__name__}"
            return Lookup("retry", reason=reason, retry_after=self._default())
        if reply.status_code == 200:
            return self._found(user_id, reply)
        if reply.status_code == 404:
            return Lookup("not_found", reason="no such user (404)")
        if reply.status_code == 429:
            return Lookup("retry", reason="user look-up rate limited (429)", retry_after=self._reset_in(reply))
        if reply.status_code == 403:
            return Lookup("failed", reason="user look-up refused (403): the application needs the read:users scope")
        return Lookup("retry", reason=f"user look-up answered {reply.status_code}", retry_after=self._default())

    def _found(self, user_id: str, reply: requests.Response) -> Lookup:
        try:
            profile = reply.json()
        except ValueError:
            return Lookup("retry", reason="user look-up answered 200 with no JSON", retry_after=self._default())
        if not isinstance(profile, dict):
            return Lookup("retry", reason="user look-up answered 200 with no profile", retry_after=self._default())
        email = profile.get("email")
        return Lookup(
            "found",
            Recipient(
                user_id=user_id,
                email=email if isinstance(email, str) else "",
                email_verified=profile.get("email_verified") is True,
                name=str(profile.get("name") or ""),
            ),
        )

    def _reset_in(self, reply: requests.Response) -> float:
        """Seconds until the limit resets: ``Retry-After`` (seconds), else ``x-ratelimit-reset`` (epoch)."""
        try:
            return max(1.0, float(reply.headers.get("Retry-After", "")))
        except ValueError:
            pass
        try:
            return max(1.0, float(reply.headers.get("x-ratelimit-reset", "")) - self.clock())
        except ValueError:
            return self._default()

    def _default(self) -> float:
        return self.policy.default_retry_seconds
