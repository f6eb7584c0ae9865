"""The bench's shared set-up and its steps in order; each step adds its figures."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from typing import IO, Any

from ..aws import MotoServer, Stack, create_stack
from ..logs import LogFactory
from ..tenant import LocalTenant
from . import drain, footprint, routes, throughput
from .config import CLIENT_ID, CLIENT_SECRET, LARGE_EVERY, ROOT, SECRET, ByteCounter, Counts, Figure, Scale
from .cost import PRICES_AS_OF, cost_lines
from .fixed_cost import FixedCost, fixed_monthly_cost


class Bench:
    """The shared set-up (moto, stacks, logs, settings) and the figures each step adds."""

    def __init__(self, scale: Scale, out: IO[str]) -> None:
        self.scale, self.out = scale, out
        self.figures: list[Figure] = []
        self.poller_counts, self.deliverer_counts = Counts(), Counts()
        self.factory = LogFactory(seed=11)
        self.stdout = ByteCounter()
        self.costs: list[tuple[str, float, str]] = []
        self.fixed: list[FixedCost] = []
        self.idle_poll_seconds = 0.1  # a poller run that finds nothing new (measured by the latency step)
        self.gzip_counts = Counts()  # the delivery step's logs again, through a gzip route (routes.gzip_delivery)
        self.gzip_costs: list[tuple[str, float, str]] = []

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def run(self) -> list[Figure]:
        env = {
            "POWERTOOLS_SERVICE_NAME": "auth0-webhooks-bench",
            "POWERTOOLS_METRICS_NAMESPACE": "Auth0WebhooksBench",
            "POWERTOOLS_LOG_LEVEL": "INFO",  # as deployed: the handlers' one line per invocation is part of the cost
            # as in Lambda: Powertools' batch processor then runs the event loop as it does there. Without it, it
            # calls asyncio.run, which in the main thread swaps SIGINT handlers and formats the task's repr: ~5 ms
            # an invocation that Lambda never spends
            "LAMBDA_TASK_ROOT": str(ROOT),
        }
        os.environ.update(env)
        with MotoServer() as moto, contextlib.redirect_stdout(self.stdout):
            os.environ.update(moto.environ())
            self.moto = moto
            steps: list[tuple[str, Callable[[Bench], None]]] = [
                ("backlog drain", throughput.backlog_drain),
                ("backlog read in slices at Enterprise and Essentials limits", drain.parallel_drain),
                ("delivery", throughput.delivery),
                ("CPU per log", footprint.cpu_per_log),
                ("CPU per log with routes", routes.poller_routes_cpu),
                ("deliverer CPU per log with routes", routes.deliverer_routes_cpu),
                ("delivery with gzip", routes.gzip_delivery),
                ("cold start", footprint.cold_start),
                ("peak memory", footprint.peak_memory),
                ("latency", throughput.latency),
            ]
            for label, step in steps:
                started = time.monotonic()
                self.say(f"  measuring {label}…")
                step(self)
                self.say(f"  … {time.monotonic() - started:.0f}s")
        self.costs = cost_lines(self.poller_counts, self.deliverer_counts)
        total = sum(dollars for _, dollars, _ in self.costs)
        note = f"AWS list prices of {PRICES_AS_OF}; see below"
        self.figures.append(Figure("6. cost per million logs", total, None, "$", note=note))
        if self.gzip_counts.logs:
            self.gzip_costs = cost_lines(self.poller_counts, self.gzip_counts)
            gzipped = sum(dollars for _, dollars, _ in self.gzip_costs)
            plain, packed = self.deliverer_counts, self.gzip_counts
            ratio = (packed.posted_bytes / packed.logs) / max(1e-9, plain.posted_bytes / max(1, plain.logs))
            note = (
                f"the delivery step's logs through a route with compression: gzip (format array), beside the"
                f" plain route's cost above (the baseline), same run; bytes on the wire {ratio:.0%} of plain"
            )
            target = f"< ${routes.GZIP_TARGET:.2f}"
            ok = gzipped < routes.GZIP_TARGET
            self.figures.append(Figure("6. cost per million logs, gzip", gzipped, total, "$", target, ok, note))
        self.fixed = fixed_monthly_cost(idle_invocation_seconds=self.idle_poll_seconds)
        total = sum(item.dollars for item in self.fixed)
        note = "template.yaml's resources, deployed with a webhook secret and no Slack; see below"
        self.figures.append(Figure("6. fixed cost a month, idle", total, None, "$", "< $3", total < 3, note))
        self.figures.sort(key=lambda figure: figure.name.split(".")[0])  # by number; stable within one
        return self.figures

    def stack(self) -> Stack:
        stack = create_stack(self.moto.url, visibility_timeout=600)
        os.environ.update(stack.environ())
        return stack

    def logs(self, count: int) -> list[dict[str, Any]]:
        return self.factory.many(count, large_every=LARGE_EVERY)

    def tenant_environ(self, tenant: LocalTenant) -> None:
        os.environ.update(
            AUTH0_DOMAIN=tenant.url, AUTH0_CLIENT_ID=CLIENT_ID, AUTH0_CLIENT_SECRET=CLIENT_SECRET, START_FROM="0"
        )
        for name in ("LOG_TYPES", "MIN_LOG_LEVEL", "API_ENDPOINTS", "BATCH_SIZE", "SLACK_INCOMING_WEBHOOK_URL"):
            os.environ.pop(name, None)

    def deliverer_environ(self, url: str, concurrency: int) -> None:
        os.environ.update(
            WEBHOOK_URL=url,
            ALLOW_INSECURE_WEBHOOK="true",
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_CONCURRENT_CALLS=str(concurrency),
            SEND_AS_BATCH="true",
        )
        for name in ("WEBHOOK_AUTHORIZATION", "SLACK_INCOMING_WEBHOOK_URL", "SLACK_SEND_SUCCESS"):
            os.environ.pop(name, None)
