"""Routes: several destinations, each with its own match, PII rules, format and pace.

``load`` reads a routes file and ``validate`` checks it (or builds the ``default`` route from today's settings),
``match`` decides which logs a route takes, ``pii`` scrubs them, ``plan`` fans a page of logs out
to every route, ``runtime`` gives a function its routes at cold start (hash keys read from their
secrets), ``enqueue`` makes a page's SQS messages for every route and says how far the checkpoint
may move, ``formats`` makes a webhook's request bodies, ``eventbridge`` puts them on a bus,
and ``check`` reports on a file.
"""

from .load import ROUTES_FILE_SETTING, default_route, load_routes, parse_routes, routes_file
from .model import (
    EmailDestination,
    EventBridgeDestination,
    Match,
    Pii,
    Route,
    SecretRef,
    SlackDestination,
    WebhookDestination,
)
from .validate import Problem

__all__ = [
    "ROUTES_FILE_SETTING",
    "EmailDestination",
    "EventBridgeDestination",
    "Match",
    "Pii",
    "Problem",
    "Route",
    "SecretRef",
    "SlackDestination",
    "WebhookDestination",
    "default_route",
    "load_routes",
    "parse_routes",
    "routes_file",
]
