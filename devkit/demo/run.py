"""The demo's run: start the parts, drive the tenant and the functions, show progress, summarize."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from rich.console import Console

from .config import STATUS_WHILE_PAUSED, DemoConfig
from .live import Progress
from .parts import SECRET_SETTINGS, Parts, started_parts
from .pipeline import Pipeline, drained
from .report import Screen, describe_setup, print_summary
from .summary import summarize
from .tally import tally_of


def run(config: DemoConfig, out: IO[str] | None = None) -> int:
    """Run the demo; returns the exit status (0, or 1 if a log went missing)."""
    out = out or sys.stdout
    screen = Screen(Console(file=out, no_color=bool(os.environ.get("NO_COLOR")), highlight=False))
    config.directory.mkdir(parents=True, exist_ok=True)
    log_path = config.directory / "logs.jsonl"
    (config.directory / STATUS_WHILE_PAUSED).unlink(missing_ok=True)  # an earlier run's
    screen.line(screen.bold("auth0-webhooks demo") + " · the real poller and deliverer, end to end, on this machine")
    screen.line(screen.dim("starting moto (AWS), the local tenant and receivers…"))
    with started_parts(config, dict(os.environ), notify=True) as parts, log_path.open("w") as log_file:
        for name in SECRET_SETTINGS:  # the template hands them over as NAME_ARN; both at once is refused
            os.environ.pop(name, None)
        os.environ.update(parts.environ)
        tally = tally_of(parts)  # the deliverer's counts: the delivery records `auth0-webhooks status` reads
        # the functions write JSON logs and EMF metrics to stdout: into the file, not onto the screen
        with contextlib.redirect_stdout(log_file), contextlib.redirect_stderr(log_file):
            pipeline = Pipeline(parts.stack, config, tally)
        describe_setup(screen, config, parts, log_path)
        if parts.stream and config.backlog:
            parts.stream.backlog(config.backlog)
        progress = Progress(screen.console, tally, pipeline, parts.stream, parts.webhook)
        with contextlib.redirect_stdout(log_file), contextlib.redirect_stderr(log_file):
            interrupted = drive(config, parts, pipeline, progress, screen)
            pipeline.join()
        progress.snapshot()  # the last deliveries' types and latencies
        report = summarize(config, parts, tally, pipeline, progress.samples)
        if not screen.console.is_terminal:  # the live view showed them; a file gets them once, here
            print_by_type(screen, progress)
        print_summary(screen, report, log_path, interrupted)
        (config.directory / "summary.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    complete = report.get("drained", False)
    return 1 if complete and report.get("missing") else 0


def drive(config: DemoConfig, parts: Parts, pipeline: Pipeline, progress: Progress, screen: Screen) -> bool:
    """Produce logs for ``seconds``, then let the pipeline drain; True if stopped by Ctrl-C."""
    restore = signal.signal(signal.SIGTERM, _raise_interrupt)
    pipeline.start()
    try:
        with progress:
            start = last = time.monotonic()
            while (now := time.monotonic()) < start + config.seconds:
                if parts.stream:
                    parts.stream.tick(now - last)
                last = now
                time.sleep(max(0.0, 1.0 - (time.monotonic() - now)))
                progress.update()
            pipeline.produced_until = time.time()
            deadline = time.monotonic() + config.drain_seconds
            note = "tenant stopped; draining" if parts.stream else "draining"
            # DEMO_FAULTS=1: the down receiver comes back once its route has paused; the route then resumes
            paused = functools.partial(route_paused, parts, config.directory / STATUS_WHILE_PAUSED)
            recovered = parts.routes is None or parts.routes.recover(paused)
            while time.monotonic() < deadline and not (recovered and drained(pipeline)):
                time.sleep(1.0)
                recovered = recovered or parts.routes is None or parts.routes.recover(paused)
                progress.update(note)
                note = ""
            progress.update("done")
            return False
    except KeyboardInterrupt:
        screen.line(screen.yellow("Ctrl-C: stopping (the current invocations finish first)…"))
        return True
    finally:
        pipeline.stop.set()
        signal.signal(signal.SIGTERM, restore)


def route_paused(parts: Parts, status_file: Path, route: str) -> bool:
    """Whether ``route``'s breaker is open, as the deliverer keeps it in the stack's table.

    When it is, what ``auth0-webhooks status`` shows at that moment is written to ``status_file``
    (the summary prints it: the stack at a glance with one route paused).
    """
    from auth0_webhooks.health.breaker import BreakerStore
    from auth0_webhooks.ops.status import gather, render

    stack = parts.stack
    if not BreakerStore(stack.client("dynamodb"), stack.table).load(route).paused:
        return False
    now = datetime.now(UTC)
    status = gather(
        stack.client("dynamodb"), stack.client("sqs"), stack.table, stack.queue_url, stack.dead_letter_queue_url, now
    )
    status_file.write_text(render(status) + "\n")
    return True


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def print_by_type(screen: Screen, progress: Progress) -> None:
    """The counts by log type and one payload, for output that is not a terminal."""
    by_type = progress.snapshot().by_type
    if by_type:
        screen.line(screen.bold("By log type") + " (produced / delivered)")
        for log_type, (made, arrived) in sorted(by_type.items(), key=lambda item: -item[1][0]):
            screen.line(f"  {log_type:<16} {made:>7,} {arrived:>7,}")
    if progress.payload:
        screen.line(screen.bold("One log as the receiver got it"))
        for text in progress.payload.splitlines():
            screen.line(screen.dim(f"  {text}"))


def main() -> int:
    config = DemoConfig.from_env(os.environ)
    return run(config)
