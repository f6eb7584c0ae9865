"""An HTTP proxy in front of a real server that fails the requests you choose.

Point a client at ``proxy.url`` (e.g. ``AWS_ENDPOINT_URL_SQS``) and add rules:
``proxy.fail_when(lambda r: r.headers.get("x-amz-target") == "AmazonSQS.SendMessageBatch", after=2)``
lets two matching requests through, then answers every later one with a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import requests

from .http import LocalServer, Reply, Request

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


@dataclass
class Rule:
    matches: Callable[[Request], bool]
    after: int  # matching requests let through first
    times: int | None  # then fail this many (None: all)
    reply: Reply
    seen: int = 0
    failed: int = 0


class FaultProxy(LocalServer):
    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target.rstrip("/")
        self.rules: list[Rule] = []
        self.seen: list[Request] = []  # every request, in order
        self.session = requests.Session()

    def fail_when(
        self, matches: Callable[[Request], bool], after: int = 0, times: int | None = None, reply: Reply | None = None
    ) -> Rule:
        rule = Rule(
            matches, after, times, reply or Reply.json({"__type": "InternalError", "message": "injected failure"}, 500)
        )
        with self.lock:
            self.rules.append(rule)
        return rule

    def handle(self, request: Request) -> Reply:
        with self.lock:
            self.seen.append(request)
            for rule in self.rules:
                if rule.matches(request):
                    rule.seen += 1
                    if rule.seen > rule.after and (rule.times is None or rule.failed < rule.times):
                        rule.failed += 1
                        return rule.reply
        query = urlencode(request.query)
        upstream = self.session.request(
            request.method,
            f"{self.target}{request.path}" + (f"?{query}" if query else ""),
            headers={k: v for k, v in request.headers.items() if k not in HOP_BY_HOP},
            data=request.body,
            timeout=30,
        )
        headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        return Reply(upstream.status_code, upstream.content, headers)


def sqs_action(action: str) -> Callable[[Request], bool]:
    """Matches an SQS call by its action name (JSON protocol's X-Amz-Target, or the query protocol)."""

    def matches(request: Request) -> bool:
        return (
            request.headers.get("x-amz-target") == f"AmazonSQS.{action}" or f"Action={action}".encode() in request.body
        )

    return matches
