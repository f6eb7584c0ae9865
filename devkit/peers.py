"""Raw-socket HTTP peers that misbehave: they trickle, hang or flood their answer.

Each connection's request is read whole; then the peer answers by its ``mode``:

- ``"plain"``: the whole answer at once (with ``reason`` as its reason phrase);
- ``"trickle-headers"``: the whole answer, one byte every ``interval`` seconds;
- ``"trickle-body"``: the status line and headers at once, then the body byte by byte;
- ``"hang"``: nothing, until the client goes away;
- ``"flood"``: headers announcing ``body_bytes`` bytes, then as many as the client will take.

``sent`` records how many bytes each connection got before it ended; ``closed_early`` counts
connections the client closed before the answer was complete.
"""

from __future__ import annotations

import socket
import threading
from typing import Self

CHUNK = b"x" * 65536


class MisbehavingPeer:
    def __init__(
        self,
        mode: str,
        status: int = 200,
        body_bytes: int = 1000,
        interval: float = 0.05,
        content_type: str = "",
        reason: str = "Whatever",
    ) -> None:
        self.reason = reason
        self.mode, self.status, self.body_bytes, self.interval = mode, status, body_bytes, interval
        self.content_type = content_type or "application/json"
        self.sent: list[int] = []
        self.closed_early = 0
        self.requests = 0
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, name=f"peer-{mode}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        sent, complete = 0, False
        try:
            _read_request(conn)
            with self.lock:
                self.requests += 1
            head = (
                f"HTTP/1.1 {self.status} {self.reason}\r\nContent-Type: {self.content_type}\r\n"
                f"Content-Length: {self.body_bytes}\r\nConnection: close\r\n\r\n"
            ).encode()
            body = b"y" * min(self.body_bytes, 1_000_000)
            if self.mode == "plain":
                conn.sendall(head + body)
                sent, complete = len(head) + len(body), True
            elif self.mode == "hang":
                conn.settimeout(0.2)
                while not self._stop.is_set():
                    try:
                        if not conn.recv(1):
                            break  # the client went away
                    except TimeoutError:
                        continue
            elif self.mode == "flood":
                conn.sendall(head)
                sent = len(head)
                while sent - len(head) < self.body_bytes:
                    sent += conn.send(CHUNK[: self.body_bytes - (sent - len(head))])
                complete = True
            else:
                trickled = head + body if self.mode == "trickle-headers" else body
                if self.mode == "trickle-body":
                    conn.sendall(head)
                    sent = len(head)
                for index in range(len(trickled)):
                    if self._stop.wait(self.interval):
                        return
                    conn.sendall(trickled[index : index + 1])
                    sent += 1
                complete = True
        except (OSError, TimeoutError):
            pass
        finally:
            with self.lock:
                self.sent.append(sent)
                self.closed_early += not complete and self.mode != "hang"
            conn.close()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        more = conn.recv(65536)
        if not more:
            return data
        data += more
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        more = conn.recv(65536)
        if not more:
            break
        body += more
    return data
