"""``make local``: the embedded stack, up until Ctrl-C, for trying every operator command on it.

The same parts as ``make demo`` (``devkit.demo.parts``): moto with template.yaml's queues, table
and secrets, a local tenant producing a few logs a second, the same three routes (the SIEM and
security receivers, the EventBridge bus and its queue) and the Slack receiver, the poller on a
schedule and the deliverer on the queue. It prints where each part listens, then the environment (``export``
lines, also written to ``.local/env.sh``) under which, from another terminal, ``make doctor``,
``make redrive ARGS=--dry-run`` and the README's "run the poller locally" command work against
it. Secrets are handed over as ``*_ARN`` references to Secrets Manager on moto, as the
template does. Slack settings are left out of that environment: the functions alert a local
endpoint, which ``make doctor`` rightly refuses as a Slack URL.

Settings: ``LOCAL_POLL_SECONDS`` (10: the schedule; deployed it is a minute),
``LOCAL_LOGS_PER_SECOND`` (1), ``LOCAL_DIR`` (``.local``: the functions' JSON logs and env.sh).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
import threading
from collections.abc import Mapping
from typing import IO

from rich.console import Console

from .demo.config import LOCAL_CLIENT_ID, ROOT, DemoConfig
from .demo.live import Progress, plain_line
from .demo.parts import SECRET_SETTINGS, Parts, started_parts
from .demo.pipeline import Pipeline
from .demo.tally import tally_of

STATUS_EVERY = 30.0  # seconds between two status lines
LEFT_OUT = ("SLACK_",)  # settings not exported for the operator commands (see the module docstring)


def config_from_env(environ: Mapping[str, str]) -> DemoConfig:
    """The demo's settings, with the local mode's own names and defaults (see the module docstring)."""
    demo = DemoConfig.from_env(
        {
            "DEMO_POLL_SECONDS": environ.get("LOCAL_POLL_SECONDS", "10"),
            "DEMO_LOGS_PER_SECOND": environ.get("LOCAL_LOGS_PER_SECOND", "1"),
            "DEMO_BACKLOG": "100",
            "DEMO_DIR": environ.get("LOCAL_DIR") or str(ROOT / ".local"),
        }
    )
    return demo


def operator_environ(parts: Parts) -> dict[str, str]:
    """What a shell needs to run the operator commands and the functions against the local stack."""
    values = {k: v for k, v in parts.environ.items() if not k.startswith(LEFT_OUT)}
    if parts.tenant is not None:
        values["AUTH0_CLIENT_ID"] = LOCAL_CLIENT_ID
    return dict(sorted(values.items()))


def where(parts: Parts) -> list[str]:
    """Where each part listens: the tenant, each route's receiver (or the webhook's), Slack, moto."""
    lines = [f"  AWS (moto)   {parts.moto.url}"]
    if parts.tenant is not None:
        lines.append(f"  Auth0        {parts.tenant.url} (a local tenant)")
    if parts.routes is not None:
        lines.append(f"  routes       {parts.routes.path} (config/routes.yaml's example, with local addresses)")
        lines += [f"    {route_id:<10} {place}" for route_id, place in parts.routes.where().items()]
    elif parts.webhook is not None:
        lines.append(f"  webhook      {parts.webhook.url}")
    if parts.slack is not None:
        lines.append(f"  Slack        {parts.slack.url}")
    return ["Receivers and parts:", *lines]


def exports(environ: Mapping[str, str]) -> list[str]:
    """``export NAME=value`` lines, quoted for a POSIX shell.

    >>> exports({"QUEUE_URL": "http://127.0.0.1:5000/q", "X": "a b"})
    ['export QUEUE_URL=http://127.0.0.1:5000/q', "export X='a b'"]
    """
    return [f"export {name}={shlex.quote(value)}" for name, value in environ.items()]


def serve(config: DemoConfig, out: IO[str], stop: threading.Event) -> int:
    """Start the stack, print its environment, run until ``stop`` is set (Ctrl-C or SIGTERM)."""

    def say(text: str = "") -> None:
        out.write(text + "\n")
        out.flush()

    config.directory.mkdir(parents=True, exist_ok=True)
    say("auth0-webhooks local stack: moto (AWS), a local tenant and receivers, the functions on a schedule")
    with started_parts(config, {}) as parts, (config.directory / "logs.jsonl").open("w") as log_file:
        for name in SECRET_SETTINGS:
            os.environ.pop(name, None)
        os.environ.update(parts.environ)
        tally = tally_of(parts)
        with contextlib.redirect_stdout(log_file), contextlib.redirect_stderr(log_file):
            pipeline = Pipeline(parts.stack, config, tally)
            if parts.stream:
                parts.stream.backlog(config.backlog)
            pipeline.start()
        say("\n" + "\n".join(where(parts)))
        lines = exports(operator_environ(parts))
        (config.directory / "env.sh").write_text("\n".join(lines) + "\n")
        say(f"\nIn another terminal, `source {config.directory / 'env.sh'}` or paste:\n")
        for line in lines:
            say(line)
        say("\nthen: make doctor · make redrive ARGS=--dry-run · the README's poller command")
        say(f"the poller runs every {config.poll_every:g}s; its JSON logs: {config.directory / 'logs.jsonl'}")
        say("Ctrl-C stops it.")
        say("ready")
        progress = Progress(Console(file=out, force_terminal=False), tally, pipeline, parts.stream, parts.webhook)
        waited, last = 0.0, 0.0
        while not stop.wait(1.0):
            waited += 1.0
            with contextlib.redirect_stdout(log_file), contextlib.redirect_stderr(log_file):
                if parts.stream:
                    parts.stream.tick(1.0)
            if waited - last >= STATUS_EVERY:
                last = waited
                say(plain_line(progress.snapshot()))
        say("stopping…")
        with contextlib.redirect_stdout(log_file), contextlib.redirect_stderr(log_file):
            pipeline.join()
    say("stopped")
    return 0


def main() -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return serve(config_from_env(os.environ), sys.stdout, stop)


if __name__ == "__main__":
    sys.exit(main())
