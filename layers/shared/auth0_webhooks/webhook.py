"""POSTing to the webhook: one request, its outcome, and the retry schedule.

Only 2xx is success. 408, 429, 5xx, timeouts and connection errors may succeed later;
every other status (3xx included: redirects are not followed) is permanent.

>>> Outcome.of_status(503).retryable, Outcome.of_status(404).retryable, Outcome.of_status(204).ok
(True, False, True)
>>> Backoff(base=10, cap=60).delay(attempt=3, retry_after=None, jitter=1.0)
40
>>> Backoff(base=10, cap=60).delay(attempt=9, retry_after=120, jitter=1.0)
120
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import requests

from . import __version__
from .redaction import host_of
from .signing import WebhookSigner

RETRYABLE_STATUSES = frozenset({408, 425, 429})
MAX_VISIBILITY_SECONDS = 43_200  # SQS: 12 hours
USER_AGENT = f"auth0-webhooks/{__version__}"


@dataclass(frozen=True)
class Outcome:
    """What one POST came to."""

    ok: bool
    retryable: bool
    status: int | None = None
    error: str = ""
    retry_after: float | None = None  # seconds, from a Retry-After header

    @classmethod
    def of_status(cls, status: int, reason: str = "", retry_after: float | None = None) -> Outcome:
        ok = 200 <= status < 300
        retryable = status in RETRYABLE_STATUSES or status >= 500
        return cls(ok, not ok and retryable, status, "" if ok else f"HTTP {status} {reason}".strip(), retry_after)


@dataclass(frozen=True)
class Backoff:
    """Seconds to hide a failed message before its next attempt: exponential, jittered, capped.

    ``delay = max(retry_after, min(cap, base * factor ** (attempt - 1)) * jitter)``, with jitter
    drawn from [0.5, 1] so that retries of many messages spread out.
    """

    base: float = 30.0
    factor: float = 2.0
    cap: float = 900.0

    def delay(self, attempt: int, retry_after: float | None, jitter: float) -> int:
        exponential = min(self.cap, self.base * self.factor ** max(0, attempt - 1)) * jitter
        return min(MAX_VISIBILITY_SECONDS, math.ceil(max(exponential, retry_after or 0.0)))


class WebhookClient:
    """Sends signed JSON bodies to one webhook over a pooled session."""

    def __init__(
        self,
        url: str,
        session: requests.Session,
        timeout: float,
        authorization: str | None = None,
        signer: WebhookSigner | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url, self.session, self.timeout = url, session, timeout
        self.authorization, self.signer, self._clock = authorization, signer, clock
        self.endpoint = host_of(url)

    def post(self, webhook_id: str, body: bytes) -> Outcome:
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "webhook-id": webhook_id}
        if self.authorization:
            headers["Authorization"] = self.authorization
        if self.signer:
            headers.update(self.signer.headers(webhook_id, body, self._clock))
        try:
            reply = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False)
        except requests.Timeout:
            return Outcome(False, True, None, f"timed out after {self.timeout:g}s")
        except requests.RequestException as error:  # its text holds the URL: keep only the kind
            return Outcome(False, True, None, f"connection failed ({type(error).__name__})")
        _ = reply.content  # read to the end so the connection goes back to the pool
        return Outcome.of_status(reply.status_code, reply.reason or "", retry_after(reply.headers, self._clock))


def retry_after(headers: Mapping[str, str], clock: Callable[[], float] = time.time) -> float | None:
    """Seconds from a ``Retry-After`` header (a number of seconds or an HTTP date), if any."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - clock())
    except (TypeError, ValueError):
        return None
