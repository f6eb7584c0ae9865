"""The demo's settings (environment variables) and the fixed names it gives the local parts."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SERVICE = "auth0-webhooks-demo"
STATUS_WHILE_PAUSED = "status-while-paused.txt"  # under DEMO_DIR: `status` as a route paused (DEMO_FAULTS=1)
POLLER_SECONDS = 8.0  # the poller's Lambda timeout here: short, so that Ctrl-C is quick
LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET = "demo-client", secrets.token_urlsafe(24)
ATTACKER_IP = "192.0.2.66"
DEPLOYED_SCHEDULE_SECONDS = 60.0  # template.yaml's Schedule default, rate(1 minute)


@dataclass(frozen=True)
class DemoConfig:
    """The demo's own settings; see the package docstring.

    >>> DemoConfig.from_env({"DEMO_SECONDS": "5"}).seconds
    5.0
    >>> DemoConfig.from_env({"DEMO_POLL_SECONDS": "0"})
    Traceback (most recent call last):
    SystemExit: demo: DEMO_POLL_SECONDS must be a number from 0.5 to 300; got '0'
    """

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
