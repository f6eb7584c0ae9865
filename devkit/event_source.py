"""What Lambda's SQS event source mapping does, against moto: receive, invoke, delete successes.

Records the handler reports in ``batchItemFailures`` are left alone: they come back when their
visibility timeout ends (which the deliverer may have changed), and after the queue's
``maxReceiveCount`` SQS moves them to the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .lambda_context import LambdaContext

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def lambda_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One SQS message as received by boto3, in the shape Lambda hands to a handler."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", "0"),
            "SenderId": attributes.get("SenderId", "AIDAEXAMPLE"),
            "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", "0"),
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


class SqsEventSource:
    def __init__(self, sqs: Any, queue_url: str, batch_size: int = 10) -> None:
        self.sqs, self.queue_url, self.batch_size = sqs, queue_url, batch_size
        self.failed: list[dict[str, Any]] = []  # messages reported failed and not yet offered again
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]

    def poll_once(self, handler: Handler, seconds: float = 60.0) -> tuple[int, int]:
        """One receive and one invocation; returns (records handed over, records reported failed)."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0, 0
        event = {"Records": [lambda_record(m, self.queue_arn) for m in messages]}
        response = handler(event, LambdaContext(seconds, function_name="deliverer"))
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        self.failed = [m for m in self.failed if m["MessageId"] not in failed]
        self.failed += [m for m in messages if m["MessageId"] in failed]
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
                ],
            )
        return len(messages), len(failed)

    def release_failed(self) -> None:
        """Time passes: the messages reported failed become visible again now."""
        for message in self.failed:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        self.failed = []

    def drain(self, handler: Handler, rounds: int = 100) -> None:
        """Invoke until the queue gives nothing more (visible now)."""
        for _ in range(rounds):
            if self.poll_once(handler)[0] == 0:
                return
