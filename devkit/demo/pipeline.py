"""The two functions on their triggers: the poller on a schedule, the deliverer on the queue."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from ..aws import Stack
from ..event_source import SqsEventSource
from ..lambda_context import LambdaContext
from .config import POLLER_SECONDS, ROOT, DemoConfig
from .tally import Tally


class Pipeline:
    """The poller on a schedule and the deliverer on the queue, each in a thread.

    One handler runs at a time: Powertools Metrics keeps its metrics in class attributes, which
    the two handlers would share in one process (in Lambda each has a process of its own).
    """

    def __init__(self, stack: Stack, config: DemoConfig, tally: Tally) -> None:
        from functions.deliverer.app import lambda_handler as deliver
        from functions.poller.app import lambda_handler as poll

        self.poll_handler, self.deliver_handler = poll, deliver
        self.stack, self.config, self.tally = stack, config, tally
        self.source = SqsEventSource(stack.client("sqs"), stack.queue_url)
        self.scheduled_event = json.loads((ROOT / "events" / "scheduled.json").read_text())
        self.invoke_lock = threading.Lock()
        self.stop = threading.Event()
        self.last_run: tuple[float, str] = (0.0, "")  # (started at, how it ended)
        self.run_starts: list[float] = []  # when each poller run started (time.time()), for the latency
        self.produced_until = float("inf")  # when the tenant stopped producing (time.time())
        self.threads = [
            threading.Thread(target=self._schedule, name="poller", daemon=True),
            threading.Thread(target=self._drain_queue, name="deliverer", daemon=True),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=POLLER_SECONDS + 5)

    def poll(self) -> None:
        from auth0_webhooks.redaction import describe

        started = time.time()
        self.run_starts.append(started)
        context = LambdaContext(POLLER_SECONDS, function_name="auth0-webhooks-poller")
        try:
            with self.invoke_lock:
                summary = self.poll_handler(self.scheduled_event, context)
        except Exception as error:
            self.tally.error("poller", describe(error))
            self.last_run = (started, "failed")
            return
        self.tally.add_run(summary)
        self.last_run = (started, str(summary.get("stopped")))

    def deliver_once(self) -> int:
        """One receive and one deliverer invocation; the number of messages handed over."""
        from auth0_webhooks.redaction import describe

        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            with self.invoke_lock:
                response: dict[str, Any] = self.deliver_handler(event, context)
            self.tally.add_invocation()
            return response

        try:
            return self.source.poll_once(handler)[0]
        except Exception as error:
            self.tally.error("deliverer", describe(error))
            self.stop.wait(1.0)
            return 0

    def _schedule(self) -> None:
        while not self.stop.is_set():
            self.poll()
            self.stop.wait(self.config.poll_every)

    def _drain_queue(self) -> None:
        while not self.stop.is_set():
            if self.deliver_once() == 0:
                self.stop.wait(0.2)

    def in_sqs(self) -> int:
        """Messages on the main queue now: waiting, being delivered, or hidden until a retry."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        names.append("ApproximateNumberOfMessagesDelayed")
        try:
            attributes = self.source.sqs.get_queue_attributes(QueueUrl=self.stack.queue_url, AttributeNames=names)
        except Exception:
            return -1
        return sum(int(attributes["Attributes"].get(name, 0)) for name in names)


def drained(pipeline: Pipeline) -> bool:
    """A poller run that started after the tenant stopped producing caught up, and the queue is empty."""
    started, stopped = pipeline.last_run
    return started > pipeline.produced_until and stopped == "caught-up" and pipeline.in_sqs() == 0
