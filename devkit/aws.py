"""moto's real HTTP server in a subprocess, and the resources the functions need on it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
import requests

REGION = "us-east-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MotoServer:
    """``python -m moto.server`` on a free port; ``reset()`` empties every backend."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> MotoServer:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in a terminal reaches the caller, which stops it in order
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/moto-api/", timeout=1)
                return self
            except requests.ConnectionError:
                if self._process.poll() is not None:
                    raise RuntimeError("moto server exited at start") from None
                time.sleep(0.1)
        raise RuntimeError("moto server did not start within 30 s")

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=10)

    def stop(self) -> None:
        if self._process:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()

    def environ(self) -> dict[str, str]:
        """What boto3 needs to talk to this server."""
        return {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": self.url}

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Stack:
    """The queues and table of one deployment, by name and URL."""

    table: str
    queue_url: str
    dead_letter_queue_url: str
    endpoint: str

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,  # type: ignore[call-overload]
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def environ(self) -> dict[str, str]:
        return {
            "CHECKPOINT_TABLE": self.table,
            "QUEUE_URL": self.queue_url,
            "DEAD_LETTER_QUEUE_URL": self.dead_letter_queue_url,
        }

    def drain(self, queue_url: str | None = None, wait: float = 0.0) -> list[dict[str, Any]]:
        """Receive and delete every message now on the queue (waiting up to ``wait`` s for the first)."""
        messages = self.receive_all(queue_url, wait)
        sqs = self.client("sqs")
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url or self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return messages

    def receive_all(self, queue_url: str | None = None, wait: float = 0.0) -> list[dict[str, Any]]:
        """Every message now visible on the queue (received, not deleted; they become visible again)."""
        sqs = self.client("sqs")
        url = queue_url or self.queue_url
        messages: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + wait
        while True:
            batch = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=30,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            ).get("Messages", [])
            for message in batch:
                messages.setdefault(message["MessageId"], message)
            if not batch and time.monotonic() >= deadline:
                return list(messages.values())
            if not batch:
                time.sleep(0.1)


def create_stack(endpoint: str, max_receive_count: int = 5, visibility_timeout: int = 60) -> Stack:
    """A checkpoint table and a queue with its dead-letter queue, under fresh names."""
    suffix = uuid.uuid4().hex[:8]
    session = dict(
        endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    ddb = boto3.client("dynamodb", **session)  # type: ignore[call-overload]
    sqs = boto3.client("sqs", **session)  # type: ignore[call-overload]
    table = f"checkpoint-{suffix}"
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    dlq = sqs.create_queue(QueueName=f"dead-letters-{suffix}", Attributes={"MessageRetentionPeriod": "1209600"})
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq["QueueUrl"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=f"logs-{suffix}",
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "MaximumMessageSize": "1048576",
            "RedrivePolicy": f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_receive_count}"}}',
        },
    )
    return Stack(table=table, queue_url=queue["QueueUrl"], dead_letter_queue_url=dlq["QueueUrl"], endpoint=endpoint)


def apply_environ(values: dict[str, str]) -> None:
    os.environ.update(values)
