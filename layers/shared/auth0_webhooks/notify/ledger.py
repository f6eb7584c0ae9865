"""Exactly once per route and log: a DynamoDB record written before the send, and a per-recipient limit.

Both live in the checkpoint table (partition key ``pk``, a string) under their own prefixes, and
carry ``expires_at`` (epoch seconds) for DynamoDB's TTL; an expired record counts as absent even
before TTL deletes it.

A notification's record moves ``sending`` → ``sent`` (or ``held``/``skipped``, also final):

- :meth:`Ledger.claim` writes ``sending`` with a lease, only if there is no record, or the record
  is a ``sending`` whose lease ran out (its sender died). A retried batch, a redrive or a replay
  finds ``sent`` and sends nothing; one that arrives during another's send finds a live lease
  and is told to retry later (by then it finds ``sent``, or the record gone).
- After a failed send, :meth:`Ledger.release` deletes the record (only its claimer can), so the retry of
  the message can claim it again; retries end in the dead-letter queue, never in silence.
- The one gap is a sender that dies after SES accepted the mail and before :meth:`finish`: after
  the lease, a retry sends again. We prefer a rare duplicate to a lost security notice.

Recipients are counted per window under a hash of their address (no address is stored).

Every call takes the time left (``seconds_left``) and does not start without :data:`CALL_SECONDS`
of it (:class:`~auth0_webhooks.budget.OutOfTime` instead); its client's timeouts and retries end a
call within that (``clients.dynamodb_within_deadline``). The notifier sends nothing it has no time to record.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import ClientError

from ..budget import SecondsLeft, ensure, unlimited
from ..clients import DEADLINE_CALL_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_ATTRIBUTE = "pk"
EXPIRY_ATTRIBUTE = "expires_at"  # template.yaml: TimeToLiveSpecification on this attribute
FinalState = Literal["sent", "held", "skipped"]
CALL_SECONDS = DEADLINE_CALL_SECONDS  # no call to the table starts with less time left


@dataclass(frozen=True)
class LedgerPolicy:
    """How long records are kept, how long a send may hold its claim, how much one person may get."""

    keep_seconds: int = 35 * 86400  # longer than the dead-letter queue keeps a message (14 days) and a replay
    lease_seconds: int = 300  # a "sending" record older than this was left by a sender that died
    per_recipient: int = 5  # at most this many mails ...
    window_seconds: int = 3600  # ... per recipient in this many seconds


@dataclass(frozen=True)
class Claim:
    """``claimed`` (go ahead, with ``token``), ``done`` (already ``state``) or ``busy`` (retry later)."""

    status: Literal["claimed", "done", "busy"]
    token: str = ""
    state: str = ""
    retry_after: float = 0.0


def recipient_key(address: str) -> str:
    """A stable, non-reversible key for an address (case-insensitive).

    >>> recipient_key("Ana@Example.com") == recipient_key("ana@example.com")
    True
    >>> "ana" in recipient_key("ana@example.com")
    False
    """
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()[:32]


class Ledger:
    """Claims, finishes and releases notification records in ``table``."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        policy: LedgerPolicy = LedgerPolicy(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client, self.table, self.policy, self.clock = client, table, policy, clock

    @staticmethod
    def key(route_id: str, log_id: str) -> str:
        return f"notify#{route_id}#{log_id}"

    def claim(self, route_id: str, log_id: str, seconds_left: SecondsLeft = unlimited) -> Claim:
        ensure(seconds_left, CALL_SECONDS, f"route {route_id}: claiming the notification of log {log_id}")
        now = int(self.clock())
        token = uuid.uuid4().hex
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    KEY_ATTRIBUTE: {"S": self.key(route_id, log_id)},
                    "state": {"S": "sending"},
                    "claim_token": {"S": token},
                    "lease_until": {"N": str(now + self.policy.lease_seconds)},
                    EXPIRY_ATTRIBUTE: {"N": str(now + self.policy.keep_seconds)},
                },
                ConditionExpression=(
                    "attribute_not_exists(#pk) OR #exp < :now OR (#state = :sending AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#pk": KEY_ATTRIBUTE, "#exp": EXPIRY_ATTRIBUTE, "#state": "state"},
                ExpressionAttributeValues={":now": {"N": str(now)}, ":sending": {"S": "sending"}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return self._existing(route_id, log_id, now, seconds_left)
        return Claim("claimed", token=token)

    def _existing(self, route_id: str, log_id: str, now: int, seconds_left: SecondsLeft) -> Claim:
        ensure(seconds_left, CALL_SECONDS, f"route {route_id}: reading the notification record of log {log_id}")
        item = self.client.get_item(
            TableName=self.table, Key={KEY_ATTRIBUTE: {"S": self.key(route_id, log_id)}}, ConsistentRead=True
        ).get("Item", {})
        state = item.get("state", {}).get("S", "")
        if state == "sending":
            lease_until = int(item.get("lease_until", {}).get("N", now))
            return Claim("busy", state=state, retry_after=float(max(1, lease_until - now)))
        if not item:  # released between our write and our read: try again soon
            return Claim("busy", retry_after=1.0)
        return Claim("done", state=state)

    def finish(
        self, route_id: str, log_id: str, claim: Claim, state: FinalState, seconds_left: SecondsLeft = unlimited
    ) -> bool:
        """Record the final ``state``; False if the claim was lost (its lease ran out and another took it)."""
        ensure(seconds_left, CALL_SECONDS, f"route {route_id}: recording the notification of log {log_id}")
        return self._if_ours(
            claim,
            lambda condition: self.client.update_item(
                TableName=self.table,
                Key={KEY_ATTRIBUTE: {"S": self.key(route_id, log_id)}},
                UpdateExpression="SET #state = :state REMOVE lease_until",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":state": {"S": state}, ":token": {"S": claim.token}},
            ),
        )

    def release(self, route_id: str, log_id: str, claim: Claim, seconds_left: SecondsLeft = unlimited) -> bool:
        """Delete our ``sending`` record so that a retry can claim it (after a failed send)."""
        ensure(seconds_left, CALL_SECONDS, f"route {route_id}: releasing the notification of log {log_id}")
        return self._if_ours(
            claim,
            lambda condition: self.client.delete_item(
                TableName=self.table,
                Key={KEY_ATTRIBUTE: {"S": self.key(route_id, log_id)}},
                ConditionExpression=condition,
                ExpressionAttributeValues={":token": {"S": claim.token}},
            ),
        )

    @staticmethod
    def _if_ours(claim: Claim, write: Callable[[str], object]) -> bool:
        try:
            write("claim_token = :token")
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    # -- the per-recipient limit -------------------------------------------------------

    def _window_key(self, recipient: str) -> tuple[str, int]:
        now = int(self.clock())
        start = now - now % self.policy.window_seconds
        return f"notify-rate#{recipient}#{start}", start

    def allow(self, recipient: str, seconds_left: SecondsLeft = unlimited) -> bool:
        """Count one mail to ``recipient`` (a :func:`recipient_key`) if the window has room."""
        ensure(seconds_left, CALL_SECONDS, "counting a mail to its recipient")
        key, start = self._window_key(recipient)
        try:
            self.client.update_item(
                TableName=self.table,
                Key={KEY_ATTRIBUTE: {"S": key}},
                UpdateExpression="ADD sent_count :one SET #exp = :exp",
                ConditionExpression="attribute_not_exists(sent_count) OR sent_count < :limit",
                ExpressionAttributeNames={"#exp": EXPIRY_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(self.policy.per_recipient)},
                    ":exp": {"N": str(start + 2 * self.policy.window_seconds)},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def refund(self, recipient: str, seconds_left: SecondsLeft = unlimited) -> None:
        """Give back the count :meth:`allow` took, when that mail was not sent after all."""
        ensure(seconds_left, CALL_SECONDS, "giving back a recipient's count")
        key, _ = self._window_key(recipient)
        try:
            self.client.update_item(
                TableName=self.table,
                Key={KEY_ATTRIBUTE: {"S": key}},
                UpdateExpression="ADD sent_count :minus",
                ConditionExpression="sent_count > :zero",
                ExpressionAttributeValues={":minus": {"N": "-1"}, ":zero": {"N": "0"}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
