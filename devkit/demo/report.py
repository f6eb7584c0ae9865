"""What the demo prints around its live table: the set-up before, the summary after."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from .config import DemoConfig
from .parts import Parts


class Screen:
    """Lines on the terminal the demo started on (the functions' output goes to a file); plain off a terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def paint(self, text: str, style: str) -> str:
        return f"[{style}]{escape(text)}[/{style}]"

    def bold(self, text: str) -> str:
        return self.paint(text, "bold")

    def dim(self, text: str) -> str:
        return self.paint(text, "dim")

    def green(self, text: str) -> str:
        return self.paint(text, "green")

    def red(self, text: str) -> str:
        return self.paint(text, "red")

    def yellow(self, text: str) -> str:
        return self.paint(text, "yellow")

    def line(self, text: str = "") -> None:
        self.console.print(text, highlight=False, soft_wrap=True)


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
    if parts.routes:
        rows.append(("Routes", f"{_shown(parts.routes.path)}: config/routes.yaml's example, with local addresses"))
        for route_id, where in parts.routes.where().items():
            rows.append((f" {route_id}", where))
    elif parts.webhook:
        rows.append(("Webhook", f"local receiver {env['WEBHOOK_URL']}: checks every Standard Webhooks signature"))
    else:
        rows.append(("Webhook", "your receiver (WEBHOOK_URL)"))
    rows.append(("Slack", f"local endpoint {parts.slack.url}" if parts.slack else "your incoming webhook"))
    if config.faults and parts.routes:
        rows.append(
            (
                "Faults",
                f"on: the {parts.routes.down} route's receiver answers 503 until the tenant stops and its"
                f" route has paused, then comes back; retries after ~{env['RETRY_BASE_SECONDS']}s, dead-lettered after"
                f" {env['MAX_RECEIVE_COUNT']} attempts; after {env['BREAKER_FAILURES']} failures in a"
                f" row the route pauses, its logs wait, a probe every {env['BREAKER_PROBE_SECONDS']}s resumes it;"
                " the tenant rate-limits the log reads (user look-ups have their own limit, as on Auth0's paid"
                " plans); the other routes are not held up",
            )
        )
    elif config.faults:
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
    elif "routes" not in report:
        row("Webhook", f"{deliverer['delivered']:,} logs delivered (the default route's record)")
    if "routes" in report:
        row("Routes", "what each route received, of what its match takes:")
    for route_id, route in report.get("routes", {}).items():
        row(f"  {route_id}", route_line(screen, route_id, route))
    if "mail" in report:
        print_mail(screen, report["mail"])
    retried = deliverer["retried"]
    row("Retries", f"{retried:,} logs retried with backoff" if retried else "none needed")
    if dlq["messages"]:
        messages = f"{dlq['messages']} message{'s' if dlq['messages'] != 1 else ''}"
        row("DLQ", f"{dlq['logs']:,} logs in {messages}:")
        for reason, group in sorted(dlq["by_reason"].items(), key=lambda item: -item[1]["logs"]):
            screen.line(f"  {'':10}   {screen.yellow(str(group['logs']).rjust(5))} logs  {reason}")
        if "routes" in report:
            routes = ", ".join(f"{n} of route {route}" for route, n in sorted(dlq["by_route"].items()))
            screen.line(f"  {'':10}   by route: {routes}")
    else:
        row("DLQ", "empty")
    if "slack" in report:
        alerts = ", ".join(f'"{title}" x{n}' for title, n in report["slack"].items())
        count = sum(report["slack"].values())
        row("Slack", f"{count} message{'s' if count != 1 else ''}: {alerts}" if alerts else "no messages")
    if "latency" in report:
        latency = report["latency"]
        now, deployed = latency["measured"], latency["default_schedule"]
        row(
            "Latency",
            f"date → delivery: median {now['median']:.1f}s, 95th percentile {now['p95']:.1f}s here (poller every"
            f" {latency['schedule_seconds']:g}s); on the deployed {latency['default_schedule_seconds']:g}s schedule"
            f" ~{deployed['median']:.0f}s and ~{deployed['p95']:.0f}s (see devkit/latency.py)",
        )
    if "status_while_paused" in report:
        paused = report["status_while_paused"]
        row("Status", f"`auth0-webhooks status` as the route paused ({_shown(Path(paused['file']))}):")
        for text in paused["text"].splitlines():
            screen.line(screen.dim(f"  {'':10}   {text}"))
    point = report["checkpoint"]
    row("Checkpoint", f"{point.get('log_id', 'none')} (newest log {point.get('newest_log_date', '-')})")
    for error, count in report["errors"].items():
        row("Errors", screen.red(f"{count}x {error}"))
    if "missing" in report:
        missing, kept = report["missing"], report["kept"]
        if not missing:
            per_route = " (a log counts once for each route that takes it)" if "routes" in report else ""
            done = f"✔ all {kept:,} kept logs were delivered or are in the dead-letter queue{per_route}"
            row("Result", screen.green(done))
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


def print_mail(screen: Screen, mail: dict[str, Any]) -> None:
    """The notification routes: the mails sent, what became of every log they match, the HTML files."""
    sent = mail["sent"]
    screen.line(f"  {screen.bold('Mail'.ljust(10))} {sent} e-mail{'s' if sent != 1 else ''} sent through SES on moto:")
    for route_id, route in mail["routes"].items():
        screen.line(f"  {'':10}   {route_id}: {mail_line(screen, route)}")
    if mail["unexpected"]:
        screen.line(f"  {'':10}   " + screen.red(f"{mail['unexpected']} mails no log accounts for"))
    if mail["files"]:
        screen.line(f"  {'':10}   the last {len(mail['files'])} as HTML files:")
        for path in mail["files"]:
            screen.line(f"  {'':10}     {_shown(Path(path))}")


def mail_line(screen: Screen, route: dict[str, Any]) -> str:
    """One notification route: its mails, and what became of each log its match takes."""
    plural = "" if route["mails"] == 1 else "s"
    mails = f"{route['mails']} {route['template']} mail{plural} for {route['matched']} matching logs"
    done = route["mails"] + route["skipped"] + route["held"] + route["dead_lettered"] == route["matched"]
    parts = [screen.green(mails) if done and not route["duplicates"] else screen.yellow(mails)]
    for name, text in (
        ("skipped", "skipped (no verified address)"),
        ("held", "held by the per-recipient limit"),
        ("dead_lettered", "in the dead-letter queue"),
        ("duplicates", "mailed twice"),
    ):
        if route[name]:
            parts.append(f"{route[name]} {text}")
    if route["sent"] != route["mails"]:
        parts.append(screen.red(f"{route['sent'] - route['mails']} recorded as sent without their mail"))
    if route["missing"]:
        parts.append(screen.red(f"{len(route['missing'])} unaccounted for"))
    return "; ".join(parts)


def route_line(screen: Screen, route_id: str, route: dict[str, Any]) -> str:
    """One route's arrivals: what it got of what it should have, how, and how its PII arrived."""
    counted = "events" if route["destination"] == "eventbridge" else "logs"
    got = f"{route['received']:,} of {route['expected']:,} {counted}"
    got = screen.green(got) if route["received"] == route["expected"] else screen.yellow(got)
    parts = [f"{got} ({route['destination']}: {', '.join(route['formats']) or 'none accepted'})"]
    if route["destination"] == "webhook":
        refused = ", ".join(f"{n}x {status}" for status, n in sorted(route["refused"].items()))
        signed = f", {route['verified']} signatures verified" if route["signed"] else ""
        parts.append(f"{route['accepted']} of {route['requests']} requests accepted{signed}")
        if refused:
            parts.append(screen.yellow(f"refused: {refused}"))
    for name, word in (("hashed", "hashed"), ("masked", "masked")):
        if name in route:
            done, clear = route[name]["done"], route[name]["clear"]
            parts.append(f"{done:,} PII values {word}, {clear} in clear")
    if route["dead_lettered"]:
        parts.append(screen.yellow(f"{route['dead_lettered']:,} in the dead-letter queue with route {route_id}"))
    if route["duplicates"]:
        parts.append(f"{route['duplicates']} delivered twice")
    return "; ".join(parts)


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)
