"""``make demo``: the real poller and deliverer, end to end, on this machine.

moto's server stands in for AWS, with template.yaml's own queue, dead-letter queue, checkpoint
table and secrets (``devkit.template``); a local Auth0 tenant produces a live stream of logs;
the poller runs on a schedule and the deliverer drains the queue through an emulated SQS event
source, both with the settings the template gives them; a local receiver checks every Standard
Webhooks signature. A table shows progress every second; a summary
says what arrived where.

Settings (environment):

- ``DEMO_SECONDS`` (30): how long the tenant keeps producing logs; then the pipeline drains
  for up to ``DEMO_DRAIN_SECONDS`` (20) and the demo ends. Ctrl-C stops it at once.
- ``DEMO_FAULTS=1``: the receiver answers 503 to a share of requests and 400 to requests that
  carry a few "poison" logs; the tenant rate-limits. Retries and the dead-letter queue show.
- ``DEMO_LOGS_PER_SECOND`` (6), ``DEMO_BACKLOG`` (500 logs of history), ``DEMO_POLL_SECONDS`` (2),
  ``DEMO_DIR`` (``.demo``: the functions' JSON logs and a ``summary.json``), ``DEMO_SEED``.
- ``AUTH0_DOMAIN`` with ``AUTH0_CLIENT_ID`` and ``AUTH0_CLIENT_SECRET``: read that tenant instead
  of the local one. ``WEBHOOK_URL`` (and ``WEBHOOK_SECRET``, ``WEBHOOK_AUTHORIZATION``): deliver
  there instead. ``SLACK_INCOMING_WEBHOOK_URL``: alert there. Other settings of the functions
  (``LOG_TYPES``, ``BATCH_SIZE``, ``SEND_AS_BATCH``, ``WEBHOOK_CONCURRENT_CALLS`` …) apply as usual.

Run it with ``make demo`` or ``.venv/bin/python -m devkit.demo``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import random
import secrets
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from .aws import MotoServer, Stack
from .event_source import SqsEventSource
from .lambda_context import LambdaContext
from .logs import LogFactory, make_log_id
from .receivers import SlackReceiver, WebhookReceiver
from .template import TemplateStack, stack_from_template
from .tenant import LocalTenant, TokenBucket

ROOT = Path(__file__).resolve().parent.parent
SERVICE = "auth0-webhooks-demo"
POLLER_SECONDS = 8.0  # the poller's Lambda timeout here: short, so that Ctrl-C is quick
LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET = "demo-client", secrets.token_urlsafe(24)
ATTACKER_IP = "192.0.2.66"


@dataclass(frozen=True)
class DemoConfig:
    """The demo's own settings; see the module docstring."""

    seconds: float = 30.0
    drain_seconds: float = 20.0
    faults: bool = False
    logs_per_second: float = 6.0
    backlog: int = 500
    poll_every: float = 2.0
    directory: Path = ROOT / ".demo"
    seed: int = 7

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DemoConfig:
        def number(name: str, default: float, low: float, high: float) -> float:
            raw = environ.get(name, "").strip()
            try:
                value = float(raw) if raw else default
            except ValueError:
                value = low - 1
            if not low <= value <= high:
                raise SystemExit(f"demo: {name} must be a number from {low:g} to {high:g}; got {raw!r}")
            return value

        return cls(
            seconds=number("DEMO_SECONDS", cls.seconds, 1, 3600),
            drain_seconds=number("DEMO_DRAIN_SECONDS", cls.drain_seconds, 0, 600),
            faults=environ.get("DEMO_FAULTS", "").strip().lower() in ("1", "true", "yes"),
            logs_per_second=number("DEMO_LOGS_PER_SECOND", cls.logs_per_second, 0, 500),
            backlog=int(number("DEMO_BACKLOG", cls.backlog, 0, 100_000)),
            poll_every=number("DEMO_POLL_SECONDS", cls.poll_every, 0.5, 300),
            directory=Path(environ.get("DEMO_DIR") or cls.directory),
            seed=int(number("DEMO_SEED", cls.seed, 0, 2**31)),
        )


def new_webhook_secret() -> str:
    """A fresh Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# -- the local tenant's stream of logs ------------------------------------------------------


class LogStream:
    """Feeds the local tenant: a backlog of history, then a few logs a second, with real dates.

    Mostly logins and token exchanges; now and then a burst of failed logins from one IP that
    ends with the account blocked. With faults, the 10th new log and every 150th after it is
    "poison": the receiver refuses (400) any request that carries it.
    """

    def __init__(self, tenant: LocalTenant, config: DemoConfig, webhook: WebhookReceiver | None) -> None:
        self.tenant, self.config, self.webhook = tenant, config, webhook
        self.random = random.Random(config.seed)
        self.factory = LogFactory(seed=config.seed, start=datetime.now(UTC) - timedelta(minutes=3))
        self.produced: list[dict[str, Any]] = []
        self.poison: set[str] = set()
        self._last = self.factory.when
        self._credit = 0.0
        self._live = 0  # logs made by tick()

    def backlog(self, count: int) -> None:
        """History: ``count`` logs spread over the last few minutes."""
        start, step = self._last, timedelta(seconds=150 / max(count, 1))
        self._add([self._make(None, start + step * (i + 1)) for i in range(count)], live=False)

    def tick(self, seconds: float) -> None:
        """This moment's new logs (about ``logs_per_second`` times ``seconds``, bursty)."""
        self._credit += self.config.logs_per_second * seconds * self.random.uniform(0.3, 1.7)
        count, self._credit = int(self._credit), self._credit % 1
        entries = [self._make() for _ in range(count)]
        if self.config.logs_per_second and self.random.random() < 0.08:  # someone tries passwords
            user = self.random.choice(self.factory.users)
            name = f"user{self.factory.users.index(user)}@example.com"
            burst = self.random.randint(6, 15)
            entries += [self._make("fp", ip=ATTACKER_IP, user_id=user, user_name=name) for _ in range(burst)]
            entries.append(self._make("limit_wc", ip=ATTACKER_IP, user_id=user, user_name=name))
        self._add(entries)

    def _make(self, log_type: str | None = None, when: datetime | None = None, **fields: Any) -> dict[str, Any]:
        when = max(when or datetime.now(UTC), self._last + timedelta(milliseconds=1))
        self.factory.when = when
        entry = self.factory.make(log_type, **fields)
        entry["date"] = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        entry["log_id"] = entry["_id"] = make_log_id(when, self.factory.seq)
        self._last = when
        return entry

    def _add(self, entries: list[dict[str, Any]], live: bool = True) -> None:
        if live and self.config.faults and self.webhook is not None:
            poison = [e["log_id"] for i, e in enumerate(entries, self._live) if i % 150 == 10]
            self._live += len(entries)
            with self.webhook.lock:
                self.webhook.failures.log_ids.update(dict.fromkeys(poison, 400))
            self.poison.update(poison)
        self.produced += entries
        self.tenant.add(entries)


# -- what the functions did ----------------------------------------------------------------


@dataclass
class Tally:
    """Counts from the poller's results and the deliverer's log lines; thread-safe."""

    poller_runs: int = 0
    read: int = 0
    kept: int = 0
    enqueued: int = 0
    poller_dead_lettered: int = 0
    auth0_requests: int = 0
    auth0_retries: int = 0
    rate_limit_waits: int = 0
    stopped: Counter[str] = field(default_factory=Counter)
    checkpoint: str | None = None
    invocations: int = 0
    delivered: int = 0
    retried: int = 0
    deliverer_dead_lettered: int = 0
    webhook_requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # "poller: …" / "deliverer: …"
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_run(self, summary: Mapping[str, Any]) -> None:
        with self.lock:
            self.poller_runs += 1
            self.read += int(summary.get("read", 0))
            self.kept += int(summary.get("kept", 0))
            self.enqueued += int(summary.get("enqueued", 0))
            self.poller_dead_lettered += int(summary.get("dead_lettered", 0))
            self.auth0_requests += int(summary.get("auth0_requests", 0))
            self.auth0_retries += int(summary.get("auth0_retries", 0))
            self.rate_limit_waits += int(summary.get("rate_limit_waits", 0))
            self.stopped[str(summary.get("stopped"))] += 1
            self.checkpoint = summary.get("checkpoint") or self.checkpoint

    def add_batch(self, fields: Mapping[str, Any]) -> None:
        with self.lock:
            self.invocations += 1
            self.delivered += int(fields.get("LogsDelivered", 0))
            self.retried += int(fields.get("LogsRetried", 0))
            self.deliverer_dead_lettered += int(fields.get("LogsDeadLettered", 0))
            self.webhook_requests += int(fields.get("WebhookRequests", 0))

    def error(self, where: str, description: str) -> None:
        with self.lock:
            self.errors[f"{where}: {description}"] += 1

    @property
    def dead_lettered(self) -> int:
        return self.poller_dead_lettered + self.deliverer_dead_lettered


class BatchLogTap(logging.Handler):
    """Reads the deliverer's "batch done" log line, as an operator would read CloudWatch."""

    def __init__(self, tally: Tally) -> None:
        super().__init__(logging.INFO)
        self.tally = tally

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "deliverer batch done":
            self.tally.add_batch(record.__dict__)


# -- the two functions on their triggers ------------------------------------------------------


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


# -- the screen ---------------------------------------------------------------------------------


class Screen:
    """Writes to the terminal the demo started on (the functions' output goes to a file)."""

    def __init__(self, stream: IO[str], color: bool) -> None:
        self.stream, self.color = stream, color

    def paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def bold(self, text: str) -> str:
        return self.paint(text, "1")

    def dim(self, text: str) -> str:
        return self.paint(text, "2")

    def green(self, text: str) -> str:
        return self.paint(text, "32")

    def red(self, text: str) -> str:
        return self.paint(text, "31")

    def yellow(self, text: str) -> str:
        return self.paint(text, "33")

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


COLUMNS: tuple[tuple[str, int], ...] = (("time", 6), ("tenant", 7), ("polled", 7), ("queued", 7), ("in SQS", 6))
COLUMNS += (("delivered", 9), ("retried", 7), ("DLQ", 5), ("lag", 6))


def table_row(values: list[str], paint: Mapping[int, Callable[[str], str]] | None = None) -> str:
    """The cells right-aligned under their headings; ``paint`` colours some cells by index."""
    cells = [value.rjust(width) for value, (_, width) in zip(values, COLUMNS, strict=True)]
    for index, painter in (paint or {}).items():
        cells[index] = painter(cells[index])
    return " ".join(cells)


class Progress:
    """One table row a second, from the tally, the queue, and the local receiver if there is one."""

    def __init__(
        self,
        screen: Screen,
        tally: Tally,
        pipeline: Pipeline,
        stream: LogStream | None,
        webhook: WebhookReceiver | None,
    ) -> None:
        self.screen, self.tally, self.pipeline, self.stream, self.webhook = screen, tally, pipeline, stream, webhook
        self.started = time.monotonic()
        self._seen_deliveries = 0

    def header(self) -> None:
        self.screen.line(self.screen.bold(table_row([name for name, _ in COLUMNS])))

    def row(self, note: str = "") -> None:
        t = self.tally
        with t.lock:
            read, enqueued, delivered, retried, dead = t.read, t.enqueued, t.delivered, t.retried, t.dead_lettered
        produced = f"{len(self.stream.produced):,}" if self.stream else "-"
        in_sqs = self.pipeline.in_sqs()
        values = [f"{time.monotonic() - self.started:.0f}s", produced, f"{read:,}", f"{enqueued:,}"]
        values += [str(in_sqs) if in_sqs >= 0 else "?", f"{delivered:,}", f"{retried:,}", f"{dead:,}", self._lag()]
        paint = {5: self.screen.green} | ({6: self.screen.yellow} if retried else {})
        text = table_row(values, paint | ({7: self.screen.yellow} if dead else {}))
        self.screen.line(text + (f"  {self.screen.dim(note)}" if note else ""))

    def _lag(self) -> str:
        """Age of the logs that reached the receiver in the last second (from their date): the worst."""
        if self.webhook is None:
            return "-"
        with self.webhook.lock:
            fresh = self.webhook.deliveries[self._seen_deliveries :]
            self._seen_deliveries += len(fresh)
        ages = [
            d.request.received_at - when
            for d in fresh
            if 200 <= d.status < 300
            for when in map(_epoch, _dates(d.request.body))
            if when is not None
        ]
        return f"{max(ages):.1f}s" if ages else ""


def _dates(body: bytes) -> list[Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return []
    return [e.get("date") for e in (value if isinstance(value, list) else [value]) if isinstance(e, dict)]


def _epoch(date: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(date).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# -- the run ------------------------------------------------------------------------------------


@dataclass
class Parts:
    """What the demo started, and what it uses from outside."""

    moto: MotoServer
    stack: Stack
    tenant: LocalTenant | None
    stream: LogStream | None
    webhook: WebhookReceiver | None
    slack: SlackReceiver | None
    environ: dict[str, str]  # what the functions get


# template.yaml accepts only https:// URLs and a tenant domain: these stand in for the local parts,
# whose real (http://) addresses the functions then get, as devkit.template's docstring shows
PLACEHOLDER_DOMAIN = "example.eu.auth0.com"
PLACEHOLDER_WEBHOOK = "https://hooks.example.com/auth0"
PLACEHOLDER_SLACK = "https://hooks.slack.com/services/T0DEMO/B0DEMO/local"
# settings a user may give as for a deployment, and the template parameter that carries each
PARAMETERS_FROM_SETTINGS = {
    "BATCH_SIZE": "BatchSize",
    "START_FROM": "StartFrom",
    "LOG_TYPES": "LogTypes",
    "MIN_LOG_LEVEL": "MinLogLevel",
    "API_ENDPOINTS": "ApiEndpoints",
    "SEND_AS_BATCH": "SendAsBatch",
    "WEBHOOK_CONCURRENT_CALLS": "WebhookConcurrentCalls",
    "WEBHOOK_TIMEOUT": "WebhookTimeout",
    "WEBHOOK_AUTHORIZATION": "WebhookAuthorization",
    "SLACK_SEND_SUCCESS": "SlackSendSuccess",
}
SECRET_SETTINGS = ("AUTH0_CLIENT_SECRET", "WEBHOOK_AUTHORIZATION", "WEBHOOK_SECRET", "SLACK_INCOMING_WEBHOOK_URL")


def template_parameters(config: DemoConfig, given: Mapping[str, str], webhook_secret: str | None) -> dict[str, str]:
    """The stack's parameters: the user's settings where given, else the local parts' (or placeholders)."""
    real_tenant = bool(given.get("AUTH0_DOMAIN"))
    domain = given.get("AUTH0_DOMAIN", "")
    webhook_url, slack_url = given.get("WEBHOOK_URL", ""), given.get("SLACK_INCOMING_WEBHOOK_URL", "")
    parameters = {
        "Auth0Domain": domain if real_tenant and "://" not in domain else PLACEHOLDER_DOMAIN,
        "Auth0ClientId": given.get("AUTH0_CLIENT_ID", "") if real_tenant else LOCAL_CLIENT_ID,
        "Auth0ClientSecret": given.get("AUTH0_CLIENT_SECRET", "") if real_tenant else LOCAL_CLIENT_SECRET,
        "WebhookUrl": webhook_url if webhook_url.startswith("https://") else PLACEHOLDER_WEBHOOK,
        "WebhookSecret": webhook_secret or "",
        "SlackIncomingWebhookUrl": slack_url if slack_url.startswith("https://") else PLACEHOLDER_SLACK,
        "SlackSendSuccess": "false" if config.faults else "true",
        "MaxReceiveCount": given.get("MAX_RECEIVE_COUNT", "3"),  # low, so that giving up shows within the demo
    }
    parameters.update({p: given[name] for name, p in PARAMETERS_FROM_SETTINGS.items() if given.get(name)})
    return parameters


def function_environ(
    stack: TemplateStack,
    given: Mapping[str, str],
    moto: MotoServer,
    tenant: LocalTenant | None,
    webhook: WebhookReceiver | None,
) -> dict[str, str]:
    """Both functions' settings as the template sets them, pointed at the local parts where there are some.

    The two functions share this process, so they share one environment: the template gives them
    the same values for the settings both read.
    """
    values = {**stack.environ_for("poller"), **stack.environ_for("deliverer"), **moto.environ()}
    values.update(
        POWERTOOLS_SERVICE_NAME=SERVICE,  # one logger for both, which the demo reads
        POWERTOOLS_METRICS_NAMESPACE="Auth0WebhooksDemo",
        POWERTOOLS_LOG_LEVEL="INFO",  # the demo counts deliveries from the deliverer's INFO line
        RETRY_BASE_SECONDS=given.get("RETRY_BASE_SECONDS", "1"),  # local only: retries within the demo's time
        RETRY_MAX_SECONDS=given.get("RETRY_MAX_SECONDS", "4"),
    )
    if tenant is not None:
        values["AUTH0_DOMAIN"] = tenant.url
    elif "://" in given.get("AUTH0_DOMAIN", ""):
        values["AUTH0_DOMAIN"] = given["AUTH0_DOMAIN"]
    if webhook is not None:
        values.update(WEBHOOK_URL=f"{webhook.url}/auth0", ALLOW_INSECURE_WEBHOOK="true")
    elif not given.get("WEBHOOK_URL", "").startswith("https://"):
        values.update(WEBHOOK_URL=given["WEBHOOK_URL"], ALLOW_INSECURE_WEBHOOK="true")
    return values


@contextlib.contextmanager
def started_parts(config: DemoConfig, given: Mapping[str, str]) -> Iterator[Parts]:
    """Start moto with the template's resources, and whichever local stand-ins are needed; stop all at the end."""
    real_tenant = bool(given.get("AUTH0_DOMAIN"))
    if real_tenant and not (given.get("AUTH0_CLIENT_ID") and given.get("AUTH0_CLIENT_SECRET")):
        raise SystemExit("demo: with AUTH0_DOMAIN set, also set AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET")
    if any(given.get(f"{name}_ARN") for name in SECRET_SETTINGS):
        raise SystemExit("demo: give secrets as values (the demo keeps them in Secrets Manager on moto), not _ARN")
    with contextlib.ExitStack() as stack:
        moto = stack.enter_context(MotoServer())  # its own session: Ctrl-C leaves it to us to stop
        tenant = webhook = slack = None
        stream: LogStream | None = None
        secret = given.get("WEBHOOK_SECRET") or None
        if not given.get("WEBHOOK_URL"):
            secret = secret or new_webhook_secret()
            webhook = stack.enter_context(WebhookReceiver(secret=secret, seed=config.seed))
            if config.faults:
                webhook.failures.share, webhook.failures.status = 0.2, 503
        if not real_tenant:
            bucket = TokenBucket(burst=3, rate=1.5) if config.faults else TokenBucket(burst=50, rate=None)
            tenant = stack.enter_context(LocalTenant(LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, bucket=bucket))
            stream = LogStream(tenant, config, webhook)
        try:
            resources = stack_from_template(moto.url, template_parameters(config, given, secret))
        except ValueError as error:
            raise SystemExit(f"demo: template.yaml refuses these settings: {error}") from None
        if not given.get("SLACK_INCOMING_WEBHOOK_URL"):
            slack = stack.enter_context(SlackReceiver())
            resources.set_secret("SecretSlackIncomingWebhookUrl", f"{slack.url}/services/T0DEMO/B0DEMO/local")
        environ = function_environ(resources, given, moto, tenant, webhook)
        yield Parts(moto, resources, tenant, stream, webhook, slack, environ)


def run(config: DemoConfig, out: IO[str] | None = None) -> int:
    """Run the demo; returns the exit status (0, or 1 if a log went missing)."""
    out = out or sys.stdout
    screen = Screen(out, color=out.isatty() and not os.environ.get("NO_COLOR"))
    config.directory.mkdir(parents=True, exist_ok=True)
    log_path = config.directory / "logs.jsonl"
    screen.line(screen.bold("auth0-webhooks demo") + " · the real poller and deliverer, end to end, on this machine")
    screen.line(screen.dim("starting moto (AWS), the local tenant and receivers…"))
    with started_parts(config, dict(os.environ)) as parts, log_path.open("w") as log_file:
        for name in SECRET_SETTINGS:  # the template hands them over as NAME_ARN; both at once is refused
            os.environ.pop(name, None)
        os.environ.update(parts.environ)
        tally = Tally()
        # the functions write JSON logs and EMF metrics to stdout: into the file, not onto the screen
        with contextlib.redirect_stdout(log_file), contextlib.redirect_stderr(log_file):
            pipeline = Pipeline(parts.stack, config, tally)
            logging.getLogger(SERVICE).addHandler(BatchLogTap(tally))
        describe_setup(screen, config, parts, log_path)
        if parts.stream and config.backlog:
            parts.stream.backlog(config.backlog)
        progress = Progress(screen, tally, pipeline, parts.stream, parts.webhook)
        with contextlib.redirect_stdout(log_file), contextlib.redirect_stderr(log_file):
            interrupted = drive(config, parts, pipeline, progress, screen)
            pipeline.join()
        report = summarize(config, parts, tally, pipeline)
        print_summary(screen, report, log_path, interrupted)
        (config.directory / "summary.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    complete = report.get("drained", False)
    return 1 if complete and report.get("missing") else 0


def drive(config: DemoConfig, parts: Parts, pipeline: Pipeline, progress: Progress, screen: Screen) -> bool:
    """Produce logs for ``seconds``, then let the pipeline drain; True if stopped by Ctrl-C."""
    restore = signal.signal(signal.SIGTERM, _raise_interrupt)
    progress.header()
    pipeline.start()
    try:
        start = last = time.monotonic()
        while (now := time.monotonic()) < start + config.seconds:
            if parts.stream:
                parts.stream.tick(now - last)
            last = now
            time.sleep(max(0.0, 1.0 - (time.monotonic() - now)))
            progress.row()
        pipeline.produced_until = time.time()
        deadline = time.monotonic() + config.drain_seconds
        note = "tenant stopped; draining" if parts.stream else "draining"
        while time.monotonic() < deadline and not drained(pipeline):
            time.sleep(1.0)
            progress.row(note)
            note = ""
        progress.row("done")
        return False
    except KeyboardInterrupt:
        screen.line(screen.yellow("Ctrl-C: stopping (the current invocations finish first)…"))
        return True
    finally:
        pipeline.stop.set()
        signal.signal(signal.SIGTERM, restore)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def drained(pipeline: Pipeline) -> bool:
    """A poller run that started after the tenant stopped producing caught up, and the queue is empty."""
    started, stopped = pipeline.last_run
    return started > pipeline.produced_until and stopped == "caught-up" and pipeline.in_sqs() == 0


def describe_setup(screen: Screen, config: DemoConfig, parts: Parts, log_path: Path) -> None:
    env = parts.environ
    receives = env.get("MAX_RECEIVE_COUNT", "?")
    rows = [
        (
            "AWS",
            f"moto server {parts.moto.url}: template.yaml's queue, dead-letter queue (after {receives} receives),"
            " checkpoint table and secrets",
        )
    ]
    if parts.tenant:
        bucket = parts.tenant.bucket
        limit = f"rate-limited to {bucket.rate:g} requests/s" if bucket.rate else "no rate limit"
        rows.append(
            (
                "Auth0",
                f"local tenant {parts.tenant.url}: {config.backlog:,} logs of history, then"
                f" ~{config.logs_per_second:g}/s ({limit})",
            )
        )
    else:
        rows.append(("Auth0", f"{os.environ.get('AUTH0_DOMAIN')} (your tenant)"))
    if parts.webhook:
        rows.append(("Webhook", f"local receiver {env['WEBHOOK_URL']}: checks every Standard Webhooks signature"))
    else:
        rows.append(("Webhook", "your receiver (WEBHOOK_URL)"))
    rows.append(("Slack", f"local endpoint {parts.slack.url}" if parts.slack else "your incoming webhook"))
    if config.faults:
        rows.append(
            (
                "Faults",
                "on: the receiver fails 20% of requests (503) and refuses poison logs (400);"
                f" retries after ~{env['RETRY_BASE_SECONDS']}s, dead-lettered after"
                f" {env['MAX_RECEIVE_COUNT']} attempts",
            )
        )
    else:
        rows.append(("Faults", "off (DEMO_FAULTS=1 to watch retries and the dead-letter queue)"))
    rows.append(
        (
            "Functions",
            f"poller every {config.poll_every:g}s, deliverer on the queue; their JSON logs → {_shown(log_path)}",
        )
    )
    for name, text in rows:
        screen.line(f"  {screen.bold(name.ljust(9))} {text}")
    screen.line(screen.dim(f"  runs {config.seconds:g}s, then drains; Ctrl-C stops it"))
    screen.line()


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


# -- the summary --------------------------------------------------------------------------------


def summarize(config: DemoConfig, parts: Parts, tally: Tally, pipeline: Pipeline) -> dict[str, Any]:
    """What arrived where, as plain data (also written to summary.json)."""
    from auth0_webhooks.filters import LogFilter
    from auth0_webhooks.settings import PollerSettings

    report: dict[str, Any] = {"seconds": config.seconds, "faults": config.faults}
    with tally.lock:
        report["poller"] = {
            "runs": tally.poller_runs,
            "read": tally.read,
            "kept": tally.kept,
            "enqueued": tally.enqueued,
            "dead_lettered": tally.poller_dead_lettered,
            "auth0_requests": tally.auth0_requests,
            "auth0_retries": tally.auth0_retries,
            "rate_limit_waits": tally.rate_limit_waits,
            "stopped": dict(tally.stopped),
        }
        report["deliverer"] = {
            "invocations": tally.invocations,
            "delivered": tally.delivered,
            "retried": tally.retried,
            "dead_lettered": tally.deliverer_dead_lettered,
            "webhook_requests": tally.webhook_requests,
        }
        report["errors"] = dict(tally.errors)
    report["in_sqs"] = pipeline.in_sqs()
    report["drained"] = drained(pipeline)
    try:
        dead, point = dead_letters(parts.stack), checkpoint(parts.stack, os.environ["AUTH0_DOMAIN"])
    except Exception as error:  # moto is gone (stopped from outside): report what the demo saw itself
        dead, point = [], {}
        report["errors"][f"demo: could not read the queues and table ({type(error).__name__})"] = 1
    report["dead_letter_queue"] = {
        "messages": len(dead),
        "logs": sum(len(ids) for _, ids in dead),
        "by_reason": _by_reason(dead),
    }
    if parts.tenant and parts.stream:
        stats = parts.tenant.stats
        report["tenant"] = {
            "produced": len(parts.stream.produced),
            "log_requests": stats.log_requests,
            "answered_429": stats.answered_429,
            "token_requests": stats.token_requests,
            "poison": len(parts.stream.poison),
        }
    if parts.webhook:
        with parts.webhook.lock:
            deliveries = list(parts.webhook.deliveries)
        ok = [d for d in deliveries if 200 <= d.status < 300]
        delivered = Counter(i for d in ok for i in d.log_ids)
        report["webhook"] = {
            "requests": len(deliveries),
            "accepted": len(ok),
            "verified": sum(1 for d in deliveries if d.verified),
            "refused": dict(Counter(str(d.status) for d in deliveries if not 200 <= d.status < 300)),
            "logs": len(delivered),
            "duplicates": sum(delivered.values()) - len(delivered),
        }
        if parts.stream:
            settings = PollerSettings.from_env()
            keep = LogFilter(settings.log_types, settings.min_log_level, settings.api_endpoints)
            expected = [e["log_id"] for e in parts.stream.produced if keep(e)]
            in_dlq = {i for _, ids in dead for i in ids}
            report["kept"] = len(expected)
            report["missing"] = [i for i in expected if i not in delivered and i not in in_dlq]
    if parts.slack:
        with parts.slack.lock:
            payloads = list(parts.slack.payloads)
        report["slack"] = dict(Counter(p["attachments"][0]["fallback"] for p in payloads))
    report["checkpoint"] = point
    return report


def dead_letters(stack: Stack) -> list[tuple[str, list[str]]]:
    """(reason, log ids) of every message in the dead-letter queue (read, not removed)."""
    found = []
    for message in stack.receive_all(stack.dead_letter_queue_url):
        reason = message.get("MessageAttributes", {}).get("reason", {}).get("StringValue") or "moved by SQS"
        try:
            body = json.loads(message["Body"])
        except ValueError:
            body = []
        entries = body if isinstance(body, list) else [body]
        ids = [str(e.get("log_id") or e.get("_id")) for e in entries if isinstance(e, dict)]
        found.append((reason, ids))
    return found


def _by_reason(dead: list[tuple[str, list[str]]]) -> dict[str, dict[str, int]]:
    groups: dict[str, dict[str, int]] = {}
    for reason, ids in dead:
        group = groups.setdefault(reason, {"messages": 0, "logs": 0})
        group["messages"] += 1
        group["logs"] += len(ids)
    return groups


def checkpoint(stack: Stack, domain_url: str) -> dict[str, str]:
    from auth0_webhooks.settings import parse_domain

    key = parse_domain(domain_url)[1]
    item = stack.client("dynamodb").get_item(TableName=stack.table, Key={"pk": {"S": key}}).get("Item", {})
    return {name: value["S"] for name, value in item.items() if "S" in value and name != "pk"}


def print_summary(screen: Screen, report: dict[str, Any], log_path: Path, interrupted: bool) -> None:
    poller, deliverer, dlq = report["poller"], report["deliverer"], report["dead_letter_queue"]
    screen.line()
    screen.line(screen.bold("Summary") + (" (stopped early)" if interrupted else ""))

    def row(name: str, text: str) -> None:
        screen.line(f"  {screen.bold(name.ljust(10))} {text}")

    if "tenant" in report:
        tenant = report["tenant"]
        limited = f", {tenant['answered_429']} answered 429" if tenant["answered_429"] else ""
        row("Tenant", f"{tenant['produced']:,} logs produced; {tenant['log_requests']} log requests{limited}")
    waits = f", {poller['rate_limit_waits']} waits for the rate limit" if poller["rate_limit_waits"] else ""
    retries = f", {poller['auth0_retries']} retried" if poller["auth0_retries"] else ""
    row(
        "Poller",
        f"{poller['runs']} runs read {poller['read']:,} logs, kept {poller['kept']:,}, queued"
        f" {poller['enqueued']:,}; {poller['auth0_requests']} Auth0 requests{retries}{waits}",
    )
    if "webhook" in report:
        hook = report["webhook"]
        refused = ", ".join(f"{n}x {status}" for status, n in sorted(hook["refused"].items()))
        signed = screen.green(f"{hook['verified']} of {hook['requests']} signatures verified")
        row("Webhook", f"{hook['logs']:,} logs delivered in {hook['accepted']} requests; {signed}")
        if refused or hook["duplicates"]:
            dup = f"; {hook['duplicates']} logs delivered twice (same webhook-id)" if hook["duplicates"] else ""
            row("", f"refused on purpose: {refused or 'none'}{dup}")
    else:
        row("Webhook", f"{deliverer['delivered']:,} logs delivered in {deliverer['webhook_requests']} requests")
    retried = deliverer["retried"]
    row("Retries", f"{retried:,} logs retried with backoff" if retried else "none needed")
    if dlq["messages"]:
        messages = f"{dlq['messages']} message{'s' if dlq['messages'] != 1 else ''}"
        row("DLQ", f"{dlq['logs']:,} logs in {messages}:")
        for reason, group in sorted(dlq["by_reason"].items(), key=lambda item: -item[1]["logs"]):
            screen.line(f"  {'':10}   {screen.yellow(str(group['logs']).rjust(5))} logs  {reason}")
    else:
        row("DLQ", "empty")
    if "slack" in report:
        alerts = ", ".join(f'"{title}" x{n}' for title, n in report["slack"].items())
        count = sum(report["slack"].values())
        row("Slack", f"{count} message{'s' if count != 1 else ''}: {alerts}" if alerts else "no messages")
    point = report["checkpoint"]
    row("Checkpoint", f"{point.get('log_id', 'none')} (newest log {point.get('newest_log_date', '-')})")
    for error, count in report["errors"].items():
        row("Errors", screen.red(f"{count}x {error}"))
    if "missing" in report:
        missing, kept = report["missing"], report["kept"]
        if not missing:
            row("Result", screen.green(f"✔ all {kept:,} kept logs were delivered or are in the dead-letter queue"))
        elif report["drained"]:
            row("Result", screen.red(f"✘ {len(missing)} of {kept:,} kept logs are missing: {missing[:5]}"))
        else:
            in_flight = f"{len(missing)} of {kept:,} kept logs still on their way (queue: {report['in_sqs']} messages)"
            row("Result", screen.yellow(in_flight))
    screen.line(
        screen.dim(
            f"  the functions' JSON logs and metrics: {_shown(log_path)};"
            f" this summary as JSON: {_shown(log_path.with_name('summary.json'))}"
        )
    )


def main() -> int:
    config = DemoConfig.from_env(os.environ)
    return run(config)


if __name__ == "__main__":
    sys.exit(main())
