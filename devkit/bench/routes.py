"""What routes cost the poller: CPU per log with three routes against the one ``default`` route.

The three are the demo's shapes: every log with personal data hashed (a copy and an HMAC per
field), the security types only, failures only. Both runs read the same kind of logs from the
same tenant in the same process, alternating, best of three; Auth0 is read once per page whatever
the number of routes (the figure's note gives the requests of each run).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TYPE_CHECKING

from ..lambda_context import LambdaContext
from ..tenant import LocalTenant
from .config import CLIENT_ID, CLIENT_SECRET, ROUNDS, Figure

if TYPE_CHECKING:
    from .runner import Bench

EXTRA_ROUTE_GROWTH = 0.30  # target: the cost per log grows by at most 30 % per extra route
ROUTES = """
routes:
  - id: siem
    pii: {{hash: [user_id, user_name, email, phone_number, ip], hash_key_secret: {secret}}}
    destination: {{type: webhook, url: "https://siem.example/in", format: jsonlines}}
  - id: security
    match: {{types: [limit_wc, limit_mu, pwd_leak, signup_pwd_leak, reset_pwd_leak]}}
    destination: {{type: webhook, url: "https://security.example/in", format: logstream}}
  - id: fails
    match: {{types: [f, fp, fu]}}
    destination: {{type: eventbridge, bus: auth0-logs}}
"""


def poller_routes_cpu(bench: Bench) -> None:
    from functions.poller.app import lambda_handler as poll

    s = bench.scale
    stack = bench.stack()
    secret = f"{stack.table}/siem-hash-key"
    stack.client("secretsmanager").create_secret(Name=secret, SecretString="bench-hash-key")
    one: list[float] = []
    three: list[float] = []
    requests = {"one": 0, "three": 0}
    with TemporaryDirectory() as folder, LocalTenant(CLIENT_ID, CLIENT_SECRET) as tenant:
        path = Path(folder) / "routes.yaml"
        path.write_text(ROUTES.format(secret=secret))
        bench.tenant_environ(tenant)
        tenant.add(bench.logs(200))
        poll({}, LambdaContext(60))  # warm: token, clients
        for _ in range(ROUNDS):
            for name, per_log in (("one", one), ("three", three)):
                if name == "three":
                    os.environ["ROUTES_FILE"] = str(path)
                tenant.add(bench.logs(s.cpu_logs))
                started = time.thread_time()
                summary = poll({}, LambdaContext(120))
                per_log.append((time.thread_time() - started) / max(1, summary["read"]))
                requests[name] = summary["auth0_requests"]
                os.environ.pop("ROUTES_FILE", None)
    target = 1 + 2 * EXTRA_ROUTE_GROWTH
    bench.figures.append(
        Figure(
            "3c. poller CPU per log, three routes",
            min(three) * 1e6,
            min(one) * 1e6,
            "µs",
            f"≤ {target:.1f}x",
            min(three) <= target * min(one),
            "baseline: the one default route; routes: all logs with 5 fields hashed, security types, failures;"
            f" best of 3; Auth0 requests per run: {requests['one']} (one route), {requests['three']} (three)",
            min(three) / min(one),
        )
    )
