"""Standard Webhooks signatures: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``.

The signature is ``v1,`` + base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>")), where the key
is the base64 part of a ``whsec_…`` secret. Receivers verify it with any Standard Webhooks
library and use ``webhook-id`` to drop duplicates (it is the same on every retry).

>>> signer = WebhookSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
>>> signer.signature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Sequence

PREFIX = "whsec_"


class WebhookSigner:
    """Signs request bodies with one Standard Webhooks secret."""

    def __init__(self, secret: str) -> None:
        if not secret.startswith(PREFIX):
            raise ValueError("a Standard Webhooks secret starts with whsec_")
        try:
            self._key = base64.b64decode(secret[len(PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the part after whsec_ must be base64") from None
        if len(self._key) < 16:
            raise ValueError("the key must be at least 16 bytes (24 base64 characters)")

    def signature(self, webhook_id: str, timestamp: int, body: bytes) -> str:
        content = f"{webhook_id}.{timestamp}.".encode() + body
        digest = hmac.new(self._key, content, hashlib.sha256).digest()
        return "v1," + base64.b64encode(digest).decode()

    def headers(self, webhook_id: str, body: bytes, clock: Callable[[], float] = time.time) -> dict[str, str]:
        timestamp = int(clock())
        return {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": self.signature(webhook_id, timestamp, body),
        }


def batch_id(log_ids: Sequence[str]) -> str:
    """A stable ``webhook-id`` for a batch: the same logs always give the same id.

    >>> batch_id(["900a", "900b"]) == batch_id(["900a", "900b"]) != batch_id(["900a"])
    True
    """
    return "batch_" + hashlib.sha256("\n".join(log_ids).encode()).hexdigest()[:40]
