"""Each route's delivery record: one bounded DynamoDB item, written once per invocation.

The deliverer notes what happens in a :class:`DeliveryLog` (in memory) and calls
:meth:`RecordStore.flush` once at the end: counters move with ``ADD`` (so concurrent
invocations never lose a count) and the last :data:`MAX_FAILURES` failed attempts are kept
newest first, replaced with a conditional write on ``record_version``. The record lives on
the route's item (``route#<id>``) beside the breaker's attributes, which it never touches.
Each read and write (a race's retry too) starts only with ``breaker.CALL_SECONDS`` left of the
caller's ``seconds_left``, else :class:`~auth0_webhooks.budget.OutOfTime` is raised.

>>> log = DeliveryLog()
>>> log.failed("2026-01-01T10:42:00Z", 503, "x" * 900, "HTTP 503")
>>> len(log.failures[0].answer)
500
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..budget import SecondsLeft, ensure, unlimited
from ..redaction import redact
from .breaker import CALL_SECONDS, route_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_FAILURES = 50  # failed attempts kept per route
MAX_ANSWER_BYTES = 500  # of each failed answer's body
MAX_ERROR_CHARS = 300
COUNTERS = ("delivered", "retried", "dead_lettered", "held")
FLUSH_RETRIES = 8


@dataclass(frozen=True)
class Failure:
    at: str
    status: int | None
    answer: str
    error: str

    def item(self) -> dict[str, Any]:
        cells: dict[str, Any] = {"at": {"S": self.at}, "answer": {"S": self.answer}, "error": {"S": self.error}}
        if self.status is not None:
            cells["status"] = {"N": str(self.status)}
        return {"M": cells}

    @classmethod
    def of_item(cls, cell: dict[str, Any]) -> Failure:
        m = cell.get("M", {})
        status = m.get("status", {}).get("N")
        return cls(
            m.get("at", {}).get("S", ""),
            int(status) if status else None,
            m.get("answer", {}).get("S", ""),
            m.get("error", {}).get("S", ""),
        )


@dataclass(frozen=True)
class Success:
    at: str
    newest_log_id: str
    latency_ms: int


def first_bytes(text: str, limit: int = MAX_ANSWER_BYTES) -> str:
    """The first ``limit`` bytes of ``text`` in UTF-8, never cutting a character in two.

    >>> first_bytes("é" * 300, 5)
    'éé'
    """
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


@dataclass
class DeliveryLog:
    """What one invocation saw on one route, flushed once."""

    delivered: int = 0
    retried: int = 0
    dead_lettered: int = 0
    held: int = 0  # logs put back to wait while the route was paused
    waiting: int | None = None  # logs in the queue for this route, when the caller knows
    host: str | None = None  # where the route sends (``scheme://host/…``, never a secret)
    last_success: Success | None = None
    failures: list[Failure] = field(default_factory=list)  # newest first, at most MAX_FAILURES

    def succeeded(self, at: str, newest_log_id: str, latency_ms: int, logs: int) -> None:
        self.delivered += logs
        if self.last_success is None or at >= self.last_success.at:
            self.last_success = Success(at, newest_log_id, latency_ms)

    def failed(self, at: str, status: int | None, answer: str, error: str) -> None:
        """Note a failed attempt (answer and error pass through ``redaction.redact``)."""
        failure = Failure(at, status, first_bytes(redact(answer)), redact(error)[:MAX_ERROR_CHARS])
        self.failures = [failure, *self.failures][:MAX_FAILURES]

    @property
    def empty(self) -> bool:
        counts = self.delivered or self.retried or self.dead_lettered or self.held
        return not (counts or self.failures or self.last_success) and self.waiting is None


@dataclass(frozen=True)
class RouteRecord:
    """A route's record as stored."""

    route: str
    delivered: int = 0
    retried: int = 0
    dead_lettered: int = 0
    held: int = 0
    waiting: int | None = None
    host: str | None = None
    last_success: Success | None = None
    failures: tuple[Failure, ...] = ()


class RecordStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.client, self.table = client, table

    def load(self, route: str) -> RouteRecord:
        item = self.client.get_item(TableName=self.table, Key={"pk": {"S": route_key(route)}}, ConsistentRead=True)
        raw = item.get("Item", {})
        return self._record(route, raw)

    def flush(self, route: str, log: DeliveryLog, seconds_left: SecondsLeft = unlimited) -> None:
        """Add ``log`` to the route's record in one conditional update (retried on a race)."""
        if log.empty:
            return
        for _ in range(FLUSH_RETRIES):
            ensure(seconds_left, CALL_SECONDS, f"route {route}: reading its delivery record")
            raw = self.client.get_item(
                TableName=self.table, Key={"pk": {"S": route_key(route)}}, ConsistentRead=True
            ).get("Item", {})
            ensure(seconds_left, CALL_SECONDS, f"route {route}: writing its delivery record")
            if self._write(route, log, raw):
                return
        raise RuntimeError(f"route {route}: the delivery record kept changing; its counts were not written")

    def _write(self, route: str, log: DeliveryLog, raw: dict[str, Any]) -> bool:
        version = int(raw.get("record_version", {}).get("N", "0"))
        kept = [Failure.of_item(cell) for cell in raw.get("record_failures", {}).get("L", [])]
        failures = [*log.failures, *kept][:MAX_FAILURES]
        names = {"#v": "record_version", "#f": "record_failures"}
        values: dict[str, Any] = {
            ":old": {"N": str(version)},
            ":one": {"N": "1"},
            ":failures": {"L": [f.item() for f in failures]},
        }
        sets, adds = ["#f = :failures"], ["#v :one"]
        for name in COUNTERS:
            names[f"#{name}"] = f"record_{name}"
            values[f":{name}"] = {"N": str(getattr(log, name))}
            adds.append(f"#{name} :{name}")
        if log.waiting is not None:
            names["#waiting"] = "record_waiting"
            values[":waiting"] = {"N": str(log.waiting)}
            sets.append("#waiting = :waiting")
        if log.host:
            names["#host"], values[":host"] = "record_host", {"S": log.host}
            sets.append("#host = :host")
        success = log.last_success
        if success and success.at >= raw.get("record_success_at", {}).get("S", ""):
            for name, cell in (
                ("success_at", {"S": success.at}),
                ("success_log_id", {"S": success.newest_log_id}),
                ("success_latency_ms", {"N": str(success.latency_ms)}),
            ):
                names[f"#{name}"] = f"record_{name}"
                values[f":{name}"] = cell
                sets.append(f"#{name} = :{name}")
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": route_key(route)}},
                UpdateExpression="SET " + ", ".join(sets) + " ADD " + ", ".join(adds),
                ConditionExpression="attribute_not_exists(#v) OR #v = :old",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    @staticmethod
    def _record(route: str, raw: dict[str, Any]) -> RouteRecord:
        def number(name: str) -> int | None:
            value = raw.get(f"record_{name}", {}).get("N")
            return int(value) if value is not None else None

        success = None
        if "record_success_at" in raw:
            success = Success(
                raw["record_success_at"]["S"],
                raw.get("record_success_log_id", {}).get("S", ""),
                number("success_latency_ms") or 0,
            )
        return RouteRecord(
            route=route,
            delivered=number("delivered") or 0,
            retried=number("retried") or 0,
            dead_lettered=number("dead_lettered") or 0,
            held=number("held") or 0,
            waiting=number("waiting"),
            host=raw.get("record_host", {}).get("S"),
            last_success=success,
            failures=tuple(Failure.of_item(c) for c in raw.get("record_failures", {}).get("L", [])),
        )
