"""Deliverer Lambda: SQS → signed webhook POSTs, with partial batch failures. Wiring only."""

import os
from typing import Any

from auth0_webhooks.deliverer import build_deliverer
from auth0_webhooks.metrics import publish, publish_latencies, stack_metrics
from auth0_webhooks.settings import DelivererSettings
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "auth0-webhooks-deliverer"))
metrics = stack_metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deliverer = build_deliverer(DelivererSettings.from_env())
    response = deliverer.process(event, lambda: context.get_remaining_time_in_millis() / 1000)
    stats = deliverer.stats
    publish(metrics, stats.metrics())
    publish_latencies(metrics, stats.latencies)
    logger.info("deliverer batch done", extra={**stats.metrics(), "failures": len(response["batchItemFailures"])})
    return response
