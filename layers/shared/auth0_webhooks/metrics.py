"""CloudWatch metrics: each one's unit, and how a handler publishes what a run counted.

A run's counts come from its own ``metrics()`` (the poller's ``RunResult``, the
deliverer's ``DeliveryStats``), named as the alarms in template.yaml watch them. Every
metric is a Count but those in :data:`UNITS`. Custom metrics cost $0.30 a month each
(README: Cost), so only :data:`PUBLISHED` reaches CloudWatch, under one dimension, the
stack; the run's log line carries every count.

>>> unit_of("LagSeconds").value, unit_of("DeliveryLatency").value, unit_of("LogsRead").value
('Seconds', 'Seconds', 'Count')
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

DELIVERY_LATENCY = "DeliveryLatency"  # per record: the age of its oldest delivered log
UNITS: Mapping[str, MetricUnit] = {
    "LagSeconds": MetricUnit.Seconds,  # poller: how far behind the tenant's newest log it is
    DELIVERY_LATENCY: MetricUnit.Seconds,
}


# what the alarms (and the optional dashboard) read; the poller's are sent on every run, the
# deliverer's only when it delivered, Anomalies only when there were some
ROUTES_PAUSED = "RoutesPaused"  # deliverer: routes it found paused (alarms route-paused, route-silent)
# either function: work a run could not do when it should have, for lack of time or a failed call
# (the poller's hand-on; a breaker, delivery-record or notification-record call); alarm shortfalls
SHORTFALLS = "Shortfalls"
# deliverer: the email and slack routes' notifications (notify.notifier.METRICS), sent when there were some:
# mailed or posted; skipped on purpose (no verified address, the template chose not to); held back by the
# per-recipient limit; delayed because Auth0's user look-up said try later (alarm notifications-delayed);
# failed, dead-lettered (alarm notifications-failed)
NOTIFICATIONS_SENT = "NotificationsSent"
NOTIFICATIONS_SKIPPED = "NotificationsSkipped"
NOTIFICATIONS_HELD = "NotificationsHeld"
NOTIFICATIONS_DELAYED = "NotificationsDelayed"
NOTIFICATIONS_FAILED = "NotificationsFailed"
NOTIFICATIONS = frozenset(
    {NOTIFICATIONS_SENT, NOTIFICATIONS_SKIPPED, NOTIFICATIONS_HELD, NOTIFICATIONS_DELAYED, NOTIFICATIONS_FAILED}
)
PUBLISHED = frozenset(
    {"LagSeconds", "Progress", "Anomalies", "LogsDelivered", DELIVERY_LATENCY, ROUTES_PAUSED, SHORTFALLS}
    | NOTIFICATIONS
)
# sent only when something happened
OCCASIONAL = frozenset({"Anomalies", ROUTES_PAUSED, SHORTFALLS} | NOTIFICATIONS)


def stack_metrics() -> Metrics:
    """A handler's metrics: the stack's namespace and one dimension, the stack's name.

    Powertools' default ``service`` dimension would bill a name the two functions share twice.
    """
    metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Auth0Webhooks"), service="")
    metrics.set_default_dimensions(stack=os.environ.get("STACK_NAME", "auth0-webhooks"))
    return metrics


def unit_of(name: str) -> MetricUnit:
    """The unit a metric is published in."""
    return UNITS.get(name, MetricUnit.Count)


def publish(metrics: Metrics, values: Mapping[str, float]) -> None:
    """Add a run's counts that are :data:`PUBLISHED`, each in its unit."""
    for name, value in values.items():
        if name in PUBLISHED:
            metrics.add_metric(name, unit_of(name), value)


def publish_latencies(metrics: Metrics, seconds: Iterable[float]) -> None:
    """Add one :data:`DELIVERY_LATENCY` data point per delivered record."""
    for value in seconds:
        metrics.add_metric(DELIVERY_LATENCY, unit_of(DELIVERY_LATENCY), round(value, 3))
