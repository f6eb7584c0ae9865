"""What the bench measures with: its scale, its figures and the counts the cost model reads."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # a test secret, not a real one
CLIENT_ID, CLIENT_SECRET = "local-client", "local-secret-do-not-log"
LARGE_EVERY = 500  # every 500th log is about 200 KB
CHUNK = 64 * 1024  # SQS bills each 64 KB of a request's payload as one request

LAMBDA_MEMORY_GB = 256 / 1024  # template.yaml: MemorySize 256
PLATFORM_LOG_BYTES = 330  # Lambda's own START, END and REPORT lines per invocation, about
FULL_VCPU_MB = 1769  # Lambda gives a function one vCPU at 1,769 MB, and CPU in proportion below that
ROUNDS = 3
DEPLOYED_SCHEDULE_SECONDS = 60.0  # template.yaml's Schedule default, rate(1 minute)


@dataclass(frozen=True)
class Scale:
    """How much work each figure does; ``--scale`` shrinks it (the smoke test uses 0.02)."""

    factor: float = 1.0
    rate: int = 5  # R: tenant requests per second
    burst: int = 10
    concurrency: int = 5  # C
    delay: float = 0.05

    def count(self, full: int, least: int) -> int:
        return max(least, int(full * self.factor))

    @property
    def drain_logs(self) -> int:
        return self.count(self.rate * 100 * 20, 300) + 50  # ~20 s at the ceiling; a short last page

    @property
    def delivery_messages(self) -> int:
        return self.count(300, 21)

    @property
    def cpu_logs(self) -> int:
        return self.count(5000, 300)

    @property
    def memory_logs(self) -> int:
        return self.count(10_000, 300)

    @property
    def latency_rounds(self) -> int:
        return self.count(10, 2)

    @property
    def latency_logs(self) -> int:
        return 120  # a minute of a busy tenant: two pages

    @property
    def import_runs(self) -> int:
        return self.count(7, 1)


@dataclass
class Figure:
    name: str
    measured: float
    baseline: float | None
    unit: str
    target: str = ""
    ok: bool | None = None  # None: no target
    note: str = ""
    ratio: float | None = None


@dataclass
class Counts:
    """Requests and bytes the runs made, for the cost model (per phase)."""

    logs: int = 0
    invocations: int = 0
    seconds: float = 0.0  # handler wall time
    sqs_chunks: int = 0
    sqs_requests: Counter[str] = field(default_factory=Counter)
    dynamodb: Counter[str] = field(default_factory=Counter)
    cpu_seconds: float = 0.0  # handler CPU time
    log_bytes: int = 0  # what the handlers wrote to stdout (CloudWatch Logs)
    posted_bytes: int = 0  # request bodies sent to the webhook
    queued_bytes: int = 0  # SQS message bodies the deliverer received; 0: the same as posted_bytes


class ByteCounter(io.TextIOBase):
    """A stdout that counts what the functions write (their JSON logs and EMF metrics) and drops it."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)
