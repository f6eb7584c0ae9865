"""The poller's checkpoint: one DynamoDB item per tenant, moved only by conditional writes.

Every move names the value it replaces, so two pollers running at once can never move
the checkpoint backwards or past logs the other has not enqueued: the slower one gets
:class:`CheckpointConflict` and stops.

A run first takes the item's lease (:meth:`CheckpointStore.take_lease`): a conditional write
that holds until the invocation's deadline. A second run finds it held and ends before reading
anything; a run that crashed leaves a lease that lapses by itself at its deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .errors import CheckpointConflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_ATTRIBUTE = "pk"  # the table's partition key (a string), as template.yaml declares it


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Checkpoint:
    """The stored state: where the next page starts and what the last runs saw."""

    log_id: str | None = None  # the last log enqueued (or filtered out); None = never started
    start_from: str | None = None  # the START_FROM this checkpoint was started with
    newest_log_date: str | None = None  # the date of the newest log enqueued so far
    updated_at: str | None = None  # when log_id last moved
    last_success_at: str | None = None  # when a run last moved the checkpoint or found nothing new


class CheckpointStore:
    """Reads and conditionally writes the checkpoint item ``{pk: key}``."""

    def __init__(self, client: DynamoDBClient, table: str, key: str, legacy_key: str | None = None) -> None:
        self.client, self.table, self.key, self.legacy_key = client, table, key, legacy_key

    def load(self) -> Checkpoint:
        """The checkpoint; one still under ``legacy_key`` (a domain with capitals) is first copied to ``key``."""
        checkpoint = self._read(self.key)
        if checkpoint.log_id is None and self.legacy_key:
            legacy = self._read(self.legacy_key)
            if legacy.log_id is not None:
                self._adopt(legacy)
                return self._read(self.key)
        return checkpoint

    def _read(self, key: str) -> Checkpoint:
        item = self.client.get_item(TableName=self.table, Key={KEY_ATTRIBUTE: {"S": key}}, ConsistentRead=True).get(
            "Item", {}
        )
        values = {name: value["S"] for name, value in item.items() if name != KEY_ATTRIBUTE and "S" in value}
        return Checkpoint(**{name: values.get(name) for name in Checkpoint.__dataclass_fields__})

    def _adopt(self, legacy: Checkpoint) -> None:
        """Carry the checkpoint an earlier release kept under the domain's own case over to the key."""
        names = {"#log_id": "log_id", "#updated_at": "updated_at"}
        values: dict[str, Any] = {":new": {"S": legacy.log_id}, ":now": {"S": utc_now()}}
        assignments = ["#log_id = :new", "#updated_at = :now"]
        for field in ("start_from", "newest_log_date"):
            value = getattr(legacy, field)
            if value is not None:
                names[f"#{field}"], values[f":{field}"] = field, {"S": value}
                assignments.append(f"#{field} = :{field}")
        try:
            self._conditional_update(None, assignments, names, values)
        except CheckpointConflict:
            pass  # another run adopted it first: the same values

    def advance(self, previous: str | None, log_id: str, newest_log_date: str | None) -> None:
        """Move ``previous`` → ``log_id``; raise CheckpointConflict if someone else moved it."""
        names = {"#log_id": "log_id", "#updated_at": "updated_at"}
        values: dict[str, Any] = {":new": {"S": log_id}, ":now": {"S": utc_now()}}
        assignments = ["#log_id = :new", "#updated_at = :now"]
        if newest_log_date:
            names["#newest"] = "newest_log_date"
            values[":newest"] = {"S": newest_log_date}
            assignments.append("#newest = :newest")
        self._conditional_update(previous, assignments, names, values)

    def restart(self, previous: str | None, start_from: str, log_id: str | None) -> None:
        """Start again after ``log_id`` (where a new START_FROM resolved to), replacing ``previous``.

        ``log_id=None``: from the oldest log the tenant keeps (the item keeps no ``log_id``). The item
        remembers ``start_from`` as given, so the same value is not applied again.
        """
        names = {"#log_id": "log_id", "#start_from": "start_from", "#updated_at": "updated_at"}
        values: dict[str, Any] = {":start": {"S": start_from}, ":now": {"S": utc_now()}}
        assignments = ["#start_from = :start", "#updated_at = :now"]
        if log_id is not None:
            values[":new"] = {"S": log_id}
            assignments.insert(0, "#log_id = :new")
        self._conditional_update(previous, assignments, names, values, remove=() if log_id else ("#log_id",))

    def take_lease(self, owner: str, until: float, now: float) -> bool:
        """Hold the checkpoint for ``owner`` until ``until`` (UNIX seconds); ``False`` if another run holds it."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(),
                UpdateExpression="SET #owner = :owner, #until = :until",
                ConditionExpression="attribute_not_exists(#until) OR #until < :now",
                ExpressionAttributeNames={"#owner": "lease_owner", "#until": "lease_until"},
                ExpressionAttributeValues={
                    ":owner": {"S": owner},
                    ":until": {"N": f"{until:.3f}"},
                    ":now": {"N": f"{now:.3f}"},
                },
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_lease(self, owner: str) -> bool:
        """Give the lease back; ``False`` if it had lapsed and another run took it since."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(),
                UpdateExpression="REMOVE #owner, #until",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "lease_owner", "#until": "lease_until"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def record_success(self) -> None:
        """Note that a run moved the checkpoint or found nothing new (for operators)."""
        self.client.update_item(
            TableName=self.table,
            Key=self._key(),
            UpdateExpression="SET #at = :now",
            ExpressionAttributeNames={"#at": "last_success_at"},
            ExpressionAttributeValues={":now": {"S": utc_now()}},
        )

    def _conditional_update(
        self,
        previous: str | None,
        assignments: list[str],
        names: dict[str, str],
        values: dict[str, Any],
        remove: tuple[str, ...] = (),
    ) -> None:
        if previous is None:
            condition = "attribute_not_exists(#log_id)"
        else:
            condition = "#log_id = :previous"
            values = {**values, ":previous": {"S": previous}}
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(),
                UpdateExpression="SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(remove) if remove else ""),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            raise CheckpointConflict(
                f"checkpoint {self.key!r} is no longer {previous!r}: another poller moved it"
            ) from None

    def _key(self) -> dict[str, Any]:
        return {KEY_ATTRIBUTE: {"S": self.key}}
