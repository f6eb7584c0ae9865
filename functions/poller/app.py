"""Poller Lambda: EventBridge schedule → Auth0 logs → SQS. Wiring only; the work is in the layer."""

import os
from typing import Any

from auth0_webhooks.handoff import hand_on
from auth0_webhooks.metrics import publish, stack_metrics
from auth0_webhooks.poller import run_poller
from auth0_webhooks.settings import PollerSettings
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "auth0-webhooks-poller"))
metrics = stack_metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = PollerSettings.from_env()
    result = run_poller(
        settings,
        lambda: context.get_remaining_time_in_millis() / 1000,
        hand_on=lambda: hand_on(context.invoked_function_arn),
    )
    publish(metrics, result.metrics())
    logger.info("poller run ended", extra=result.summary())
    return result.summary()
