"""Alerter Lambda: CloudWatch alarm changes (through the SNS topic) → Slack. Wiring only.

A message on the topic that is not an alarm state change is logged and skipped: it never
fails the invocation, so SNS does not retry junk.
"""

import os
from typing import Any

from auth0_webhooks.alarms import NotAnAlarm, parse_alarm, sns_messages
from auth0_webhooks.alerts import slack_for
from auth0_webhooks.settings import Env, SlackSettings
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "auth0-webhooks-alerter"))


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    slack = SlackSettings.from_env(Env())
    alerts = slack_for(slack.url, slack.send_success)
    posted = skipped = 0
    for message in sns_messages(event):
        try:
            if message is None:
                raise NotAnAlarm("the record is not an SNS notification")
            change = parse_alarm(message)
        except NotAnAlarm as error:
            logger.warning("skipped a message that is not an alarm change", extra={"why": str(error)})
            skipped += 1
            continue
        sent = alerts.alarm(change.name, change.state, change.reason, change.link)
        logger.info("alarm change", extra={"alarm": change.name, "state": change.state, "posted": sent})
        posted += sent
    return {"posted": posted, "skipped": skipped}
