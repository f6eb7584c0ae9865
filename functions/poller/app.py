"""Poller Lambda: EventBridge schedule → Auth0 logs → SQS. Wiring only; the work is in the layer."""

import os
from typing import Any

from auth0_webhooks.poller import run_poller
from auth0_webhooks.settings import PollerSettings
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "auth0-webhooks-poller"))
# Custom metrics cost $0.30 a month each (README: Cost), so only what an alarm or the dashboard needs is
# published; the run's log line carries every count. One dimension, the stack, which both functions share:
# Powertools' default `service` dimension would bill a name the two functions share twice.
PUBLISHED = frozenset({"LogsRead", "LagSeconds"})
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Auth0Webhooks"), service="")
metrics.set_default_dimensions(stack=os.environ.get("STACK_NAME", "auth0-webhooks"))


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = PollerSettings.from_env()
    result = run_poller(settings, lambda: context.get_remaining_time_in_millis() / 1000)
    for name, value in result.metrics().items():
        if name in PUBLISHED:
            metrics.add_metric(name, MetricUnit.Seconds if name == "LagSeconds" else MetricUnit.Count, value)
    logger.info("poller run ended", extra=result.summary())
    return result.summary()
