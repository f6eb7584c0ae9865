"""A deadline on a whole HTTP exchange, and a cap on how much of an answer is read.

``requests``' ``timeout`` bounds each socket read, not the exchange: a peer that trickles
its headers or body one byte a second never trips it. Here a watchdog shuts the
socket of every connection the exchange used when its deadline passes (one thread watches
every deadline of the process: :class:`Watchdogs`), so the blocked read
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

import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import Message
from functools import cache
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_DEADLINE_SECONDS = 86_400.0  # an infinite deadline is a day
MAX_ANSWER_BYTES = 4096  # of a peer's answer body we ever read: enough for an error message
# the heap is rebuilt without its cancelled entries once they are this many and over half of it
COMPACT_AFTER_CANCELLED = 64

_current = threading.local()


class Watchdog:
    """Shuts the sockets of the connections it watches once its deadline passes.

    :meth:`start` puts its deadline on the process's :class:`Watchdogs` (one thread for all);
    :meth:`stop` takes it off. A watchdog stopped before its deadline never fires.
    """

    def __init__(self, seconds: float, watchdogs: Watchdogs | None = None) -> None:
        self.fired = False
        self.seconds = min(max(0.0, seconds), MAX_DEADLINE_SECONDS)
        self.done = False  # fired or cancelled: its heap entry is dead (guarded by its Watchdogs' lock)
        self._stopped = False
        self._watchdogs = watchdogs
        self._connections: list[tuple[Any, socket.socket | None]] = []
        self._lock = threading.Lock()

    def watch(self, connection: Any) -> None:
        sock = getattr(connection, "sock", None)
        with self._lock:
            self._connections.append((connection, sock))
            if self.fired:
                _shut(sock)

    def fire(self) -> None:
        """The deadline passed: shut every watched socket (so that a blocked read fails at once)."""
        with self._lock:
            if self._stopped:  # stopped as its deadline came: the exchange ended in time
                return
            self.fired = True
            for _, sock in self._connections:
                _shut(sock)

    def start(self) -> None:
        if self._watchdogs is None:
            self._watchdogs = watchdogs()
        self._watchdogs.add(self)

    def stop(self) -> None:
        """End the watch; if it fired, close the connections (they may be back in their pool)."""
        if self._watchdogs is not None:
            self._watchdogs.cancel(self)
        with self._lock:
            self._stopped = True
            if self.fired:
                for connection, sock in self._connections:
                    if connection.sock is sock:  # not reconnected by another thread since
                        connection.close()  # a closed urllib3 connection reconnects when next used
                    elif sock is not None:
                        sock.close()  # http.client let go of it; the answer we abandoned still held it
            self._connections.clear()


class Watchdogs:
    """Every watchdog of the process on one thread: a heap of deadlines, the earliest first.

    A request used to start a ``threading.Timer`` (a new thread) of its own; here one daemon thread
    waits on a condition for the earliest deadline, fires what is due, and waits again. A cancelled
    watchdog is only marked done: its entry is dropped when it reaches the top, or when the heap
    is rebuilt because most of it is dead. ``clock`` is injectable; with ``autostart=False`` no
    thread runs and :meth:`due` is called by hand (tests).

    >>> now = [0.0]
    >>> dogs = Watchdogs(clock=lambda: now[0], autostart=False)
    >>> late, early = Watchdog(5.0, dogs), Watchdog(1.0, dogs)
    >>> late.start(); early.start()
    >>> dogs.due(0.5), dogs.due(1.0) == [early], early.fired, len(dogs)
    ([], True, True, 1)
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, autostart: bool = True) -> None:
        self._clock, self._autostart = clock, autostart
        self._heap: list[tuple[float, int, Watchdog]] = []
        self._order = itertools.count()  # ties fire in the order they were added
        self._cancelled = 0  # dead entries still in the heap
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None

    def __len__(self) -> int:
        """Watchdogs waiting for their deadline."""
        with self._condition:
            return len(self._heap) - self._cancelled

    def add(self, watchdog: Watchdog) -> None:
        at = self._clock() + watchdog.seconds
        with self._condition:
            heapq.heappush(self._heap, (at, next(self._order), watchdog))
            if self._heap[0][2] is watchdog:  # the new earliest: the thread waits for it instead
                self._condition.notify()
            if self._thread is None and self._autostart:
                self._thread = threading.Thread(target=self._run, name="deadline-watchdogs", daemon=True)
                self._thread.start()

    def cancel(self, watchdog: Watchdog) -> None:
        with self._condition:
            if watchdog.done:
                return
            watchdog.done = True
            self._cancelled += 1
            if self._cancelled >= COMPACT_AFTER_CANCELLED and 2 * self._cancelled > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def due(self, now: float) -> list[Watchdog]:
        """Fire the watchdogs whose deadline is ``now`` or earlier, earliest first; returns them."""
        with self._condition:
            fired = self._pop_due(now)
        for watchdog in fired:
            watchdog.fire()
        return fired

    def _pop_due(self, now: float) -> list[Watchdog]:
        """(Lock held.) Take the due watchdogs off the heap, and the dead ones on its top."""
        due = []
        while self._heap and (self._heap[0][2].done or self._heap[0][0] <= now):
            _, _, watchdog = heapq.heappop(self._heap)
            if watchdog.done:
                self._cancelled -= 1
                continue
            watchdog.done = True
            due.append(watchdog)
        return due

    def _run(self) -> None:
        while True:
            with self._condition:
                fired = self._pop_due(self._clock())
                if not fired:
                    wait = self._heap[0][0] - self._clock() if self._heap else None
                    self._condition.wait(wait)
                    continue
            for watchdog in fired:  # outside the lock: shutting a socket may take a moment
                watchdog.fire()


@cache
def watchdogs() -> Watchdogs:
    """The process's watchdogs (made anew in a forked child: the thread does not survive a fork)."""
    return Watchdogs()


os.register_at_fork(after_in_child=watchdogs.cache_clear)


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
