"""A deadline on a whole HTTP exchange, and a cap on how much of an answer is read.

``requests``' ``timeout`` bounds each socket read, not the exchange: a peer that trickles
its headers or body one byte a second never trips it. Here a watchdog timer shuts the
socket of every connection the exchange used when its deadline passes, so the blocked read
fails at once (as a ``requests.ConnectionError``). The connection pools of
:func:`clients.http_session` register each connection they hand out with the calling
thread's current watchdog, so any request made inside ``with deadline(seconds):`` is covered::

    with deadline(remaining) as watch:
        reply = session.get(url, timeout=min(per_read, remaining), stream=True)
        body = read_capped(reply)
    if watch.fired: ...  # the exchange was cut at the deadline

Outside such a block, requests behave as usual.

>>> with deadline(5.0) as watch:
...     pass
>>> watch.fired
False
>>> decode_text(b"caf\\xc3\\xa9", "text/plain"), decode_text(b"\\xff", "text/plain; charset=latin-1")
('café', 'ÿ')
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_DEADLINE_SECONDS = 86_400.0  # an infinite deadline is a day (threading.Timer needs a number)
MAX_ANSWER_BYTES = 4096  # of a peer's answer body we ever read: enough for an error message

_current = threading.local()


class Watchdog:
    """Shuts the sockets of the connections it watches once its timer fires."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._connections: list[tuple[Any, socket.socket | None]] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(min(max(0.0, seconds), MAX_DEADLINE_SECONDS), self._fire)
        self._timer.daemon = True

    def watch(self, connection: Any) -> None:
        sock = getattr(connection, "sock", None)
        with self._lock:
            self._connections.append((connection, sock))
            if self.fired:
                _shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for _, sock in self._connections:
                _shut(sock)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        """End the watch; if it fired, close the connections (they may be back in their pool)."""
        self._timer.cancel()
        with self._lock:
            if self.fired:
                for connection, sock in self._connections:
                    if connection.sock is sock:  # not reconnected by another thread since
                        connection.close()  # a closed urllib3 connection reconnects when next used
                    elif sock is not None:
                        sock.close()  # http.client let go of it; the answer we abandoned still held it
            self._connections.clear()


def _shut(sock: socket.socket | None) -> None:
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed
            pass


@contextmanager
def deadline(seconds: float) -> Iterator[Watchdog]:
    """Every HTTP exchange this thread makes inside the block ends at the latest ``seconds`` from now."""
    watchdog = Watchdog(seconds)
    active = _active()
    active.append(watchdog)  # blocks nest: every enclosing deadline holds too
    watchdog.start()
    try:
        yield watchdog
    finally:
        watchdog.stop()
        active.remove(watchdog)


def _active() -> list[Watchdog]:
    if not hasattr(_current, "watchdogs"):
        _current.watchdogs = []
    watchdogs: list[Watchdog] = _current.watchdogs
    return watchdogs


class _Watched:
    """Mixed into urllib3's pools: each connection, once connected, joins the thread's watchdogs.

    The socket itself is watched: http.client drops its reference to it (``sock = None``)
    as soon as it has the headers of an answer that closes the connection.
    """

    def _validate_conn(self, conn: Any) -> None:
        super()._validate_conn(conn)  # type: ignore[misc]
        watchdogs = _active()
        if watchdogs:
            if conn.is_closed:
                conn.connect()  # now rather than inside the request, so that its socket can be watched
            for watchdog in watchdogs:
                watchdog.watch(conn)


class _WatchedHTTPPool(_Watched, HTTPConnectionPool):
    pass


class _WatchedHTTPSPool(_Watched, HTTPSConnectionPool):
    pass


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections obey :func:`deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def read_capped(reply: requests.Response, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """At most ``limit`` bytes of a streamed answer (``stream=True``); then the reply is closed.

    A connection whose answer was read to its end goes back to the pool; one with more left
    is dropped rather than drained. A failed read raises ``requests.ConnectionError``.
    """
    ended = False
    try:
        body: bytes = reply.raw.read(limit, decode_content=True)
        ended = len(body) < limit or not reply.raw.read(1, decode_content=True)
        return body
    except (urllib3.exceptions.HTTPError, OSError) as error:  # as requests itself would raise it
        raise requests.ConnectionError(f"answer cut short ({type(error).__name__})") from None
    finally:
        if not ended:  # more than we read, or a failed read: drop the connection rather than drain it
            reply.raw.close()
        reply.raw.release_conn()


def decode_text(body: bytes, content_type: str | None) -> str:
    """An answer's text: its declared charset, else UTF-8 (never Latin-1 by default); bad bytes replaced."""
    message = Message()
    message["content-type"] = content_type or "application/octet-stream"
    charset = message.get_content_charset() or "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:  # an unknown charset
        return body.decode("utf-8", errors="replace")
