"""``auth0-webhooks replay``: the command line of :mod:`.replay` (settings, routes, the progress bar, exit codes).

Dates are read as ``START_FROM`` reads them (a UTC date or a duration back from now; ``--to now``
too). The tenant's credentials are the poller's settings (``AUTH0_DOMAIN``, ``AUTH0_CLIENT_ID``,
``AUTH0_CLIENT_SECRET`` or ``AUTH0_CLIENT_SECRET_ARN``), read from the environment as the doctor
reads them; the table and queues come from a stack's outputs or from flags and ``$CHECKPOINT_TABLE``,
``$QUEUE_URL``, ``$DEAD_LETTER_QUEUE_URL``. Exit code 0 when the window is replayed (or counted),
1 on a failure or an interruption (one line, no traceback), 2 for a wrong command line.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from ..auth0_source import Auth0LogSource
from ..env import Env
from ..errors import Auth0WebhooksError, ConfigError
from ..queue import LogQueue
from ..ratelimit import RateLimiter, limited_session, parse_reserve
from ..redaction import redact
from ..routes import default_route, routes_file
from ..routes.plan import CompiledRoute, compile_route
from ..routes.runtime import poller_routes
from ..settings import Auth0Settings
from ..start_points import parse_start_from
from ..windows import Window
from .args import log_types
from .aws import plain_error, stack_outputs
from .replay import Replayer, ReplayState, ReplayStore, Tally, replay_key

PROG = "auth0-webhooks replay"
SUMMARY = "send the logs of a past time window [--from, --to) again, to all routes or some, resumably"
STACK_OUTPUTS = ("CheckpointTableName", "QueueUrl", "DeadLetterQueueUrl")
PLAIN_EVERY_PAGES = 10  # without a terminal, one progress line per this many pages
WHEN = "a UTC date such as 2026-11-01T00:00:00Z or 2026-11-01, or a duration back from now such as 3d, 12h or 90m"


class UsageError(Exception):
    """A wrong command line found after parsing (an unknown route): exit code 2."""


def parse_when(flag: str, raw: str, now: datetime) -> datetime:
    """``--from``/``--to``: a date or a duration as START_FROM reads them; ``now`` too.

    >>> now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    >>> parse_when("--from", "2d", now), parse_when("--to", "now", now) == now
    (datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.timezone.utc), True)
    >>> parse_when("--from", "yesterday", now)
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: --from must be a UTC date such as 2026-11-01T00:00:00Z or 2026-11-01, \
or a duration back from now such as 3d, 12h or 90m; got 'yesterday'
    """
    if raw.strip().lower() == "now":
        return now
    try:
        point = parse_start_from(raw, now)
    except ConfigError as error:
        detail = "a date in the past (dates are UTC)" if "in the past" in str(error) else WHEN
        raise argparse.ArgumentTypeError(f"{flag} must be {detail}; got {raw!r}") from None
    if point.at is None:
        raise argparse.ArgumentTypeError(f"{flag} must be {WHEN}; got {raw!r}")
    return point.at


def _parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Read the logs dated in [--from, --to) from the tenant again and queue them for delivery, "
        "marked as replayed. Resumable: the same command after Ctrl-C or a crash goes on where it stopped.",
    )
    parser.add_argument("--from", dest="start", required=True, metavar="T1", help="first moment included: " + WHEN)
    parser.add_argument("--to", dest="end", required=True, metavar="T2", help="first moment excluded (or now)")
    parser.add_argument("--route", action="append", default=[], metavar="ID", help="only this route (repeatable)")
    parser.add_argument("--types", type=log_types, default=frozenset(), help="only logs of these types, e.g. s,f")
    parser.add_argument("--dry-run", action="store_true", help="count the window's logs by type and route; send none")
    parser.add_argument("--restart", action="store_true", help="forget this replay's progress and start over")
    parser.add_argument("--stack", help="a deployed stack's name: the table and queue URLs come from its outputs")
    parser.add_argument("--table", help="the checkpoint table (default: $CHECKPOINT_TABLE)")
    parser.add_argument("--queue-url", help="default: $QUEUE_URL")
    parser.add_argument("--dead-letter-queue-url", help="default: $DEAD_LETTER_QUEUE_URL")
    parser.add_argument("--region", help="AWS region (default: the AWS configuration)")
    return parser


@dataclass(frozen=True)
class Targets:
    table: str
    queue_url: str
    dead_letter_queue_url: str


def _targets(args: argparse.Namespace, environ: Mapping[str, str]) -> Targets:
    import boto3

    from ..clients import AWS_CONFIG

    if args.stack:
        cloudformation = boto3.client("cloudformation", region_name=args.region, config=AWS_CONFIG)
        outputs = stack_outputs(cloudformation, args.stack, STACK_OUTPUTS)
        return Targets(*(outputs[name] for name in STACK_OUTPUTS))
    table = args.table or environ.get("CHECKPOINT_TABLE")
    queue_url = args.queue_url or environ.get("QUEUE_URL")
    dead_letter_queue_url = args.dead_letter_queue_url or environ.get("DEAD_LETTER_QUEUE_URL")
    if not (table and queue_url and dead_letter_queue_url):
        raise UsageError("give --stack, or --table, --queue-url and --dead-letter-queue-url (or their variables)")
    return Targets(table, queue_url, dead_letter_queue_url)


def _routes(env: Env, environ: Mapping[str, str], chosen: Sequence[str]) -> list[CompiledRoute]:
    """The chosen routes of the routes file (all when none chosen), as the poller runs them (hash keys read
    from their secrets), or the ``default`` route of today's settings."""
    compiled = poller_routes(routes_file(environ), environ)
    if not compiled:
        level = env.text("MIN_LOG_LEVEL")
        default = default_route(
            environ.get("WEBHOOK_URL") or "https://webhook.invalid",  # the destination is the deliverer's
            log_types=env.words("LOG_TYPES", r"[a-z0-9_]+", "Auth0 log type codes such as s,f,scp"),
            min_log_level=None if level is None else env.integer("MIN_LOG_LEVEL", 0, 0, 4),
            api_endpoints=env.words("API_ENDPOINTS", r"[a-z0-9_-]+", "Management API endpoints such as users"),
        )
        compiled = (compile_route(default, hash_key=None),)
    known = [route.route.id for route in compiled]
    unknown = [route for route in chosen if route not in known]
    if unknown:
        raise UsageError(f"--route must be one of {', '.join(known)}; got {unknown[0]!r}")
    return [route for route in compiled if not chosen or route.route.id in chosen]


class Display:
    """Progress after each page: a rich progress bar in a terminal, a plain line every few pages otherwise."""

    def __init__(self, out: TextIO, verb: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.out, self.verb, self._clock = out, verb, clock
        self.pages, self._started = 0, clock()
        self._update: Callable[[ReplayState, float], None] | None = None

    @contextmanager
    def shown(self) -> Iterator[Display]:
        if not self.out.isatty():
            yield self
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        columns = (
            TextColumn(f"{self.verb}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[read]} read, {task.fields[sent]} sent, {task.fields[rate]} logs/s"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=Console(file=self.out)) as bar:
            task = bar.add_task(self.verb, total=1.0, read=0, sent=0, rate=0)

            def update(state: ReplayState, share: float) -> None:
                bar.update(task, completed=share, read=state.read, sent=state.sent, rate=self._rate(state))

            self._update = update
            yield self

    def __call__(self, state: ReplayState, share: float) -> None:
        self.pages += 1
        if self._update is not None:
            self._update(state, share)
        elif self.pages % PLAIN_EVERY_PAGES == 0:
            print(f"{self.verb}: {share:.0%} of the window, {state.read} logs read, {state.sent} sent", file=self.out)

    def _rate(self, state: ReplayState) -> int:
        elapsed = self._clock() - self._started
        return round(state.read / elapsed) if elapsed > 0 else 0


def _tally_lines(window: Window, tally: Tally) -> list[str]:
    span = f"{window.start.isoformat()} to {window.end.isoformat()}"
    by_type = ", ".join(f"{code} {count}" for code, count in sorted(tally.types.items(), key=lambda i: (-i[1], i[0])))
    lines = [f"dry run: the window {span} holds {tally.total} logs; nothing was sent"]
    lines.append(f"  by type: {by_type or 'none'}")
    lines.append("  per route: " + ", ".join(f"{route} {count}" for route, count in tally.routes.items()))
    if tally.malformed:
        lines.append(f"  to the dead-letter queue (no log_id or date, or too large for SQS): {tally.malformed}")
    return lines


def main(
    argv: Sequence[str] | None = None,
    prog: str = PROG,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    values = dict(os.environ if environ is None else environ)
    parser = _parser(prog)
    args = parser.parse_args(argv)
    now = datetime.now(UTC)
    try:
        window = Window(parse_when("--from", args.start, now), parse_when("--to", args.end, now))
    except (argparse.ArgumentTypeError, ConfigError) as error:
        parser.error(str(error))
    secrets: tuple[str, ...] = ()
    state: ReplayState | None = None
    try:
        env = Env(values)
        settings = Auth0Settings.from_env(env)
        secrets = (settings.client_secret.reveal(),)
        routes = _routes(env, values, args.route)
        targets = None if args.dry_run else _targets(args, values)
        limiter = RateLimiter(reserve=parse_reserve(values.get("RATE_LIMIT_RESERVE")))
        source = Auth0LogSource(settings, session=limited_session(limiter, lambda: float("inf")))
        batch_size = env.integer("BATCH_SIZE", default=100, low=1, high=100)
        replayer = Replayer(source, window, routes, args.types, batch_size)
        kept_since = replayer.check_window()
        if kept_since is not None:
            print(f"replay: the tenant keeps logs from {kept_since.isoformat()} only: older ones are gone", file=err)
        if targets is None:
            with Display(out, "counting").shown() as display:
                tally = replayer.count(display)
            print("\n".join(_tally_lines(window, tally)), file=out)
            return 0
        import boto3

        from ..clients import AWS_CONFIG

        sqs = boto3.client("sqs", region_name=args.region, config=AWS_CONFIG)
        dynamodb = boto3.client("dynamodb", region_name=args.region, config=AWS_CONFIG)
        key = replay_key(settings.domain, window, [compiled.route.id for compiled in routes], args.types)
        store = ReplayStore(dynamodb, targets.table, key)
        if args.restart:
            store.delete()
        state = store.load()
        if state.done:
            print(
                f"replay: this window was replayed already ({state.read} logs read, {state.sent} sent);"
                " --restart sends it again",
                file=out,
            )
            return 0
        if state.cursor is not None:
            print(f"replay: resuming after {state.read} logs read and {state.sent} sent", file=out)
        with Display(out, "replaying").shown() as display:
            state = replayer.run(LogQueue(sqs, targets.queue_url, targets.dead_letter_queue_url), store, display)
    except UsageError as error:
        parser.error(str(error))
    except KeyboardInterrupt:
        print("replay: interrupted; the same command resumes after the last page sent", file=err)
        return 1
    except (Auth0WebhooksError, ClientError, BotoCoreError) as error:
        text = plain_error(error) if isinstance(error, ClientError | BotoCoreError) else str(error)
        print(f"replay: {redact(text, secrets)}", file=err)
        return 1
    names = ", ".join(compiled.route.id for compiled in routes)
    print(
        f"replay: done: {state.read} logs read from the window, {state.sent} sent (routes: {names}),"
        f" {state.dead_lettered} dead-lettered",
        file=out,
    )
    return 0
