"""POSTing to the webhook: one request, its outcome, and the retry schedule.

Only 2xx is success. 408, 429, 5xx, timeouts and connection errors may succeed later;
every other status (3xx included: redirects are not followed) is permanent, and so is a
request that cannot be encoded (a ``webhook-id`` HTTP headers cannot carry).

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
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from typing import Literal

import requests
import urllib3

from . import __version__
from .deadline import deadline, read_capped
from .errors import ConfigError
from .redaction import host_of
from .signing import WebhookSigner

RETRYABLE_STATUSES = frozenset({408, 425, 429})
MAX_VISIBILITY_SECONDS = 43_200  # SQS: a message stays hidden at most 12 hours from its receipt
VISIBILITY_MARGIN_SECONDS = 1_200  # receipt to now: batching window (300 s) and the longest invocation (900 s)
MAX_RETRY_DELAY_SECONDS = MAX_VISIBILITY_SECONDS - VISIBILITY_MARGIN_SECONDS
MIN_POST_SECONDS = 1.0  # a POST is not started with less time than this left
MAX_REASON_CHARS = 200
ANSWER_KEPT_BYTES = 500  # of an answer, for the delivery record and test-event
USER_AGENT = f"auth0-webhooks/{__version__}"
NOT_SENT = "not sent: too little time left in this invocation"
CauseOf = Literal["destination", "upstream", "local"]  # whose answer an Outcome is
UNSENDABLE_ID = "cannot be sent: webhook-id holds a character HTTP headers cannot carry"


@dataclass(frozen=True)
class Outcome:
    """What one POST came to."""

    ok: bool
    retryable: bool
    status: int | None = None
    error: str = ""
    retry_after: float | None = None  # seconds, from a Retry-After header
    sent: bool = True  # False: no request was made (no time left)
    answer: str = ""  # the answer's first bytes (at most ANSWER_KEPT_BYTES): delivery record, test-event
    # whose answer it is: the destination's (its breaker counts it); "upstream", a notification's Auth0 look-up
    # (the logs wait, held without spending an attempt); "local", a notification's own ledger or template
    cause: CauseOf = "destination"

    @classmethod
    def of_status(cls, status: int, reason: str = "", retry_after: float | None = None) -> Outcome:
        ok = 200 <= status < 300
        retryable = status in RETRYABLE_STATUSES or status >= 500
        return cls(ok, not ok and retryable, status, "" if ok else f"HTTP {status} {reason}".strip(), retry_after)


@dataclass(frozen=True)
class Backoff:
    """Seconds to hide a failed message before its next attempt: exponential, jittered, capped.

    ``delay = max(retry_after, min(cap, base * factor ** (attempt - 1)) * jitter)``, with jitter
    drawn from [0.5, 1] so that retries of many messages spread out; never more than SQS allows
    (``MAX_RETRY_DELAY_SECONDS``), whatever ``Retry-After`` says.

    >>> Backoff().delay(attempt=1, retry_after=float("inf"), jitter=1.0) == MAX_RETRY_DELAY_SECONDS
    True
    """

    base: float = 30.0
    factor: float = 2.0
    cap: float = 900.0

    def delay(self, attempt: int, retry_after: float | None, jitter: float) -> int:
        exponential = min(self.cap, self.base * self.factor ** min(max(0, attempt - 1), 64)) * jitter
        wanted = max(exponential, retry_after or 0.0)
        if not math.isfinite(wanted):
            return MAX_RETRY_DELAY_SECONDS
        return min(MAX_RETRY_DELAY_SECONDS, math.ceil(wanted))


def check_header_value(setting: str, value: str) -> str:
    """``value`` if HTTP can carry it in a header, else a :class:`ConfigError` naming ``setting``.

    >>> check_header_value("WEBHOOK_AUTHORIZATION", "Bearer €uro")
    Traceback (most recent call last):
    ...
    auth0_webhooks.errors.ConfigError: WEBHOOK_AUTHORIZATION must be a value HTTP headers can carry: \
Latin-1 characters only (no curly quotes, no €), no line breaks
    """
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        ok = False
    else:
        ok = not any(char in value for char in "\r\n\0")
    if not ok:
        raise ConfigError(
            setting, "a value HTTP headers can carry: Latin-1 characters only (no curly quotes, no €), no line breaks"
        )
    return value


class WebhookClient:
    """Sends signed JSON bodies to one webhook over a pooled session.

    Each POST has a deadline on the whole exchange (:func:`deadline.deadline`): the
    configured timeout, or the time the caller has left if that is less. At most
    ``MAX_ANSWER_BYTES`` of an answer are read.
    """

    def __init__(
        self,
        url: str,
        session: requests.Session,
        timeout: float,
        authorization: str | None = None,
        signer: WebhookSigner | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if authorization:
            check_header_value("WEBHOOK_AUTHORIZATION", authorization)
        self.url, self.session, self.timeout = url, session, timeout
        self.authorization, self.signer, self._clock = authorization, signer, clock
        self.endpoint = host_of(url)

    def post(
        self, webhook_id: str, body: bytes, seconds_left: float = math.inf, extra: Mapping[str, str] | None = None
    ) -> Outcome:
        """POST ``body``; the exchange ends within ``min(timeout, seconds_left)`` seconds.

        ``extra`` headers (a route's ``Content-Type``, ``Content-Encoding``, static headers) come
        before ours: ``User-Agent``, ``webhook-*`` and ``Authorization`` are always the client's.
        """
        seconds = min(self.timeout, seconds_left)
        if seconds < MIN_POST_SECONDS:
            return Outcome(False, True, None, NOT_SENT, sent=False)
        headers = {"Content-Type": "application/json", **(extra or {})}
        headers.update({"User-Agent": USER_AGENT, "webhook-id": webhook_id})
        if self.authorization:
            headers["Authorization"] = self.authorization
        if self.signer:
            headers.update(self.signer.headers(webhook_id, body, self._clock))
        with deadline(seconds) as watch:
            try:
                reply = self.session.post(
                    self.url, data=body, headers=headers, timeout=seconds, allow_redirects=False, stream=True
                )
                answer = read_capped(reply)  # so that the connection goes back to the pool, or is dropped
            except UnicodeError:  # http.client encodes header values as Latin-1
                return Outcome(False, False, None, UNSENDABLE_ID)
            except (requests.Timeout, urllib3.exceptions.TimeoutError):
                return Outcome(False, True, None, f"timed out after {seconds:g}s")
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
                if watch.fired:
                    return Outcome(False, True, None, f"no complete answer within {seconds:g}s")
                return Outcome(False, True, None, f"connection failed ({type(error).__name__})")  # its text has the URL
        if watch.fired:  # a cut answer can still parse (a status line, then EOF): it is no answer
            return Outcome(False, True, None, f"no complete answer within {seconds:g}s")
        outcome = Outcome.of_status(reply.status_code, reason_of(reply), retry_after(reply.headers, self._clock))
        return replace(outcome, answer=answer[:ANSWER_KEPT_BYTES].decode("utf-8", "ignore"))


def reason_of(reply: requests.Response) -> str:
    """The reply's reason phrase, read as UTF-8 if it is (http.client reads it as Latin-1), kept short.

    >>> reply = requests.Response(); reply.reason = "Donn\u00c3\u00a9es refus\u00c3\u00a9es"
    >>> reason_of(reply)
    'Données refusées'
    """
    reason = reply.reason or ""
    try:
        reason = reason.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    return "".join(char if char.isprintable() else " " for char in reason)[:MAX_REASON_CHARS]


def retry_after(headers: Mapping[str, str], clock: Callable[[], float] = time.time) -> float | None:
    """Seconds from a ``Retry-After`` header (a number of seconds or an HTTP date), if any.

    A number that is not finite counts as "as long as allowed" (``inf``) or as absent (``nan``).

    >>> retry_after({"Retry-After": "inf"}), retry_after({"Retry-After": "nan"}), retry_after({"Retry-After": "7"})
    (inf, None, 7.0)
    """
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return None if math.isnan(seconds) else max(0.0, seconds)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - clock())
    except (TypeError, ValueError, OverflowError):
        return None
