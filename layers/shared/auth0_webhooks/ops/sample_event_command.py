"""``auth0-webhooks test-event --route ID``: one marked test event through a route's real path.

The route comes from the deliverer's own settings (``ROUTES_FILE``, or ``WEBHOOK_URL`` and its
secrets for ``default``), so the event is sent exactly as the deliverer sends logs: the route's
PII transform, format, compression, headers, ``Authorization`` and Standard Webhooks signature.
The event is a synthetic log of type ``auth0-webhooks-test`` (its ``log_id`` starts with
``auth0-webhooks-test-``), so a receiver can tell it from real logs. What the receiver answered
(status and first bytes) is printed; the exit code is 0 on a 2xx, 1 otherwise.

>>> event = sample_log(datetime(2026, 1, 1, 10, 42, tzinfo=UTC))
>>> event["type"], event["log_id"], event["date"]
('auth0-webhooks-test', 'auth0-webhooks-test-20260101104200', '2026-01-01T10:42:00.000Z')
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import ConfigError
from ..webhook import Outcome

PROG = "auth0-webhooks test-event"
SUMMARY = "send one marked test event through a route's destination and show the answer"
TEST_TYPE = "auth0-webhooks-test"
SEND_SECONDS = 30.0  # the longest the send may take (the route's own timeout applies too)


def sample_log(now: datetime) -> dict[str, Any]:
    """The synthetic log: marked by its type, its id and its description."""
    return {
        "log_id": f"{TEST_TYPE}-{now:%Y%m%d%H%M%S}",
        "date": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "type": TEST_TYPE,
        "description": "auth0-webhooks test event: not a real log; sent by `auth0-webhooks test-event`",
    }


@dataclass(frozen=True)
class SampleEventResult:
    route: str
    endpoint: str
    outcome: Outcome

    def text(self) -> str:
        status = f"HTTP {self.outcome.status}" if self.outcome.status is not None else self.outcome.error
        verdict = "accepted" if self.outcome.ok else f"refused ({self.outcome.error})"
        answer = self.outcome.answer.strip() or "(empty)"
        return f"route {self.route} → {self.endpoint}: {status}, {verdict}\nanswer: {answer}"


def send_sample_event(
    route: str, environ: Mapping[str, str] | None = None, now: datetime | None = None
) -> SampleEventResult:
    """Send the test event through ``route`` as the deliverer configured by ``environ`` would."""
    from ..delivery_routes import routing_for
    from ..routes.runtime import poller_routes
    from ..settings import DelivererSettings

    settings = DelivererSettings.from_env(environ)
    destinations = routing_for(settings).destinations
    if route not in destinations:
        known = ", ".join(sorted(destinations))
        raise ConfigError("--route", f"one of the routes: {known}", got=route)
    log: Mapping[str, Any] = sample_log(now or datetime.now(UTC))
    compiled = {c.route.id: c for c in poller_routes(settings.routes_file, environ)}
    if route in compiled:
        log = compiled[route].scrub(log)
    destination = destinations[route]
    [(_, outcome)] = destination.send([dict(log)], min(SEND_SECONDS, destination.timeout))
    return SampleEventResult(route, destination.endpoint, outcome)


def _parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=SUMMARY[0].upper() + SUMMARY[1:] + ", with the deliverer's settings from the environment "
        "(ROUTES_FILE, or WEBHOOK_URL with WEBHOOK_SECRET and WEBHOOK_AUTHORIZATION).",
    )
    parser.add_argument("--route", default="default", help="the route's id (default: default)")
    return parser


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    args = _parser(prog).parse_args(argv)
    try:
        result = send_sample_event(args.route, os.environ)
    except ConfigError as error:
        print(f"test-event: {error}", file=sys.stderr)
        return 2
    print(result.text())
    return 0 if result.outcome.ok else 1
