"""Alerter Lambda: CloudWatch alarm changes (through the SNS topic) → Slack. Wiring only.

A message on the topic that is not an alarm state change is logged and skipped: it never
fails the invocation, so SNS does not retry junk.
"""

import os
from typing import Any

from auth0_webhooks.alarms import forward_alarms
from auth0_webhooks.alerts import slack_for
from auth0_webhooks.env import Env
from auth0_webhooks.settings import SlackSettings
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "auth0-webhooks-alerter"))


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    slack = SlackSettings.from_env(Env())
    forwarded = forward_alarms(event, slack_for(slack.url, slack.send_success))
    return {"posted": forwarded.posted, "skipped": forwarded.skipped}
