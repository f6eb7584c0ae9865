"""The request bodies a webhook destination sends for a list of (already scrubbed) logs.

``array`` is a JSON array of log objects (the old extension's payload, today's default);
``object`` one log per request; ``jsonlines`` one log per line. The ``logstream-*`` formats
are what an Auth0 Log Streams custom webhook sends: each log wrapped as
``{"log_id": …, "data": {…}}``, in its JSONARRAY, JSONLINES and JSONOBJECT content formats.
With ``compression: gzip`` the body is gzipped and sent with ``Content-Encoding: gzip``;
the signature covers those bytes, the bytes sent.

>>> [body.content for body in encode([{"log_id": "1"}, {"log_id": "2"}], "logstream-jsonlines")]
[b'{"log_id":"1","data":{"log_id":"1"}}\\n{"log_id":"2","data":{"log_id":"2"}}\\n']
>>> [body.log_ids for body in encode([{"log_id": "1"}, {"log_id": "2"}], "object")]
[('1',), ('2',)]
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..log_entry import log_id
from ..records import encode as encode_json
from ..signing import batch_id
from .model import Compression, Format

DEFAULT_ROUTE_ID = "default"

JSON = "application/json"
JSON_LINES = "application/x-ndjson"
GZIP_LEVEL = 6  # zlib's default: most of the gain of 9 for a fraction of the CPU
CONTENT_TYPES: Mapping[Format, str] = {
    "array": JSON,
    "object": JSON,
    "jsonlines": JSON_LINES,
    "logstream-array": JSON,
    "logstream-object": JSON,
    "logstream-jsonlines": JSON_LINES,
}
_ONE_PER_BODY = frozenset({"object", "logstream-object"})


@dataclass(frozen=True)
class Body:
    """One request: the exact bytes to send (and sign), its headers, and which logs it carries."""

    content: bytes
    headers: Mapping[str, str]
    log_ids: tuple[str, ...]


def webhook_id(route_id: str, body: Body, format: Format) -> str:
    """The ``webhook-id`` of a body: the same for the same route and logs on every retry, different
    between routes (receivers dedupe on it). The ``default`` route keeps today's ids (the log's id in
    the one-log formats, ``batch_`` + a hash of the ids otherwise), so upgrading keeps receivers' dedupe.

    >>> body = Body(b"{}", {}, ("900a",))
    >>> webhook_id("default", body, "object"), webhook_id("siem", body, "logstream-object")
    ('900a', 'siem_900a')
    >>> webhook_id("siem", body, "jsonlines").startswith("siem_batch_")
    True
    """
    base = body.log_ids[0] if format in _ONE_PER_BODY else batch_id(body.log_ids)
    return base if route_id == DEFAULT_ROUTE_ID else f"{route_id}_{base}"


def encode(
    logs: Sequence[Mapping[str, Any]], format: Format, compression: Compression = "none", batch_size: int = 100
) -> list[Body]:
    """The bodies for ``logs`` in order: one per log for the ``object`` formats, else one per ``batch_size`` logs."""
    size = 1 if format in _ONE_PER_BODY else max(1, batch_size)
    bodies = []
    for start in range(0, len(logs), size):
        chunk = logs[start : start + size]
        content = _serialize(chunk, format)
        headers = {"Content-Type": CONTENT_TYPES[format]}
        if compression == "gzip":
            content = gzip.compress(content, compresslevel=GZIP_LEVEL, mtime=0)
            headers["Content-Encoding"] = "gzip"
        bodies.append(Body(content, headers, tuple(log_id(log) or "" for log in chunk)))
    return bodies


def _serialize(logs: Sequence[Mapping[str, Any]], format: Format) -> bytes:
    items: Sequence[Any] = logs
    if format.startswith("logstream"):
        items = [{"log_id": log_id(log) or "", "data": log} for log in logs]
    if format.endswith("jsonlines"):
        return "".join(encode_json(item) + "\n" for item in items).encode("utf-8")
    if format in _ONE_PER_BODY:
        return encode_json(items[0]).encode("utf-8")
    return encode_json(items).encode("utf-8")
