"""Deliverer Lambda: SQS → signed webhook POSTs, with partial batch failures. Wiring only."""

import os
from typing import Any

from auth0_webhooks.deliverer import build_deliverer
from auth0_webhooks.settings import DelivererSettings
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "auth0-webhooks-deliverer"))
# Only what an alarm or the dashboard needs is published (custom metrics cost $0.30 a month each; README:
# Cost); the log line below carries every count. One dimension, the stack, shared with the poller.
PUBLISHED = frozenset({"LogsDelivered"})
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Auth0Webhooks"), service="")
metrics.set_default_dimensions(stack=os.environ.get("STACK_NAME", "auth0-webhooks"))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deliverer = build_deliverer(DelivererSettings.from_env())
    response = deliverer.process(event, lambda: context.get_remaining_time_in_millis() / 1000)
    stats = deliverer.stats
    for name, value in stats.metrics().items():
        if name in PUBLISHED:
            metrics.add_metric(name, MetricUnit.Count, value)
    for seconds in stats.latencies:
        metrics.add_metric("DeliveryLatency", MetricUnit.Seconds, round(seconds, 3))
    logger.info("deliverer batch done", extra={**stats.metrics(), "failures": len(response["batchItemFailures"])})
    return response
