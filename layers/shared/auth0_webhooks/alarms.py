"""CloudWatch alarm state changes, as they arrive through SNS, read into what Slack should say,
and :func:`forward_alarms`, the alerter's loop that posts them.

An alarm's SNS message is a JSON object with ``AlarmName``, ``NewStateValue``,
``NewStateReason`` and ``AlarmArn`` (whose region and partition give the console link).
Anything else on the topic (a test message, a subscription note, junk) is :class:`NotAnAlarm`.

>>> change = parse_alarm('''{"AlarmName": "auth0-webhooks-dead-letters", "NewStateValue": "ALARM",
...     "OldStateValue": "OK", "NewStateReason": "Threshold Crossed: 1 datapoint [3.0] was greater than 0.0",
...     "AlarmArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:auth0-webhooks-dead-letters"}''')
>>> change.name, change.state, change.old_state, change.region
('auth0-webhooks-dead-letters', 'ALARM', 'OK', 'eu-west-1')
>>> change.link
'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/auth0-webhooks-dead-letters'
>>> parse_alarm('{"hello": "world"}')
Traceback (most recent call last):
...
auth0_webhooks.alarms.NotAnAlarm: not a CloudWatch alarm: AlarmName is missing
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from aws_lambda_powertools import Logger

logger = Logger(child=True)

STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")
_ALARM_ARN = re.compile(r"^arn:(aws[a-z-]*):cloudwatch:([a-z0-9-]+):\d{12}:alarm:.+$")
CONSOLE_HOSTS = {  # partition -> the console's domain
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}
MAX_REASON = 1000  # CloudWatch's reasons are short, but a Slack field should stay readable


class NotAnAlarm(ValueError):
    """The SNS message is not a CloudWatch alarm state change; the message says why."""

    def __init__(self, why: str) -> None:
        super().__init__(f"not a CloudWatch alarm: {why}")


@dataclass(frozen=True)
class AlarmChange:
    """One alarm's move from ``old_state`` to ``state``."""

    name: str
    state: str  # ALARM | OK | INSUFFICIENT_DATA
    old_state: str | None
    reason: str
    region: str
    partition: str = "aws"

    @property
    def link(self) -> str:
        """The alarm's page in the CloudWatch console."""
        host = CONSOLE_HOSTS.get(self.partition, CONSOLE_HOSTS["aws"])
        return (
            f"https://{self.region}.{host}/cloudwatch/home?region={self.region}"
            f"#alarmsV2:alarm/{quote(self.name, safe='')}"
        )


def parse_alarm(message: str) -> AlarmChange:
    """The alarm change in one SNS message body; :class:`NotAnAlarm` if it is none."""
    try:
        value: Any = json.loads(message)
    except (TypeError, ValueError):
        raise NotAnAlarm("the message is not JSON") from None
    if not isinstance(value, dict):
        raise NotAnAlarm("the message is not a JSON object")
    name, state, arn = value.get("AlarmName"), value.get("NewStateValue"), value.get("AlarmArn")
    if not isinstance(name, str) or not name:
        raise NotAnAlarm("AlarmName is missing")
    if state not in STATES:
        raise NotAnAlarm(f"NewStateValue is {str(state)[:40]!r}, not one of {', '.join(STATES)}")
    match = _ALARM_ARN.match(arn) if isinstance(arn, str) else None
    if match is None:
        raise NotAnAlarm("AlarmArn is not the ARN of a CloudWatch alarm")
    old = value.get("OldStateValue")
    reason = value.get("NewStateReason")
    return AlarmChange(
        name=name,
        state=str(state),
        old_state=old if old in STATES else None,
        reason=(reason if isinstance(reason, str) else "")[:MAX_REASON] or "(no reason given)",
        region=match.group(2),
        partition=match.group(1),
    )


def sns_messages(event: Any) -> Iterator[str | None]:
    """The message body of each record of an SNS event as Lambda delivers it (``None``: not an SNS record)."""
    records = event.get("Records") if isinstance(event, dict) else None
    for record in records if isinstance(records, list) else []:
        sns = record.get("Sns") if isinstance(record, dict) else None
        message = sns.get("Message") if isinstance(sns, dict) else None
        yield message if isinstance(message, str) else None


class AlarmPoster(Protocol):
    """Where alarm changes go (:class:`~auth0_webhooks.alerts.SlackAlerts`); ``True`` if it posted."""

    def alarm(self, name: str, state: str, reason: str, link: str) -> bool: ...


@dataclass(frozen=True)
class Forwarded:
    """What one alerter invocation did with the SNS records it got."""

    posted: int = 0
    skipped: int = 0  # records that are not an alarm state change, each logged at WARNING


def forward_alarms(event: dict[str, Any], alerts: AlarmPoster) -> Forwarded:
    """Post every alarm change in an SNS event; log and skip what is not one, so SNS never retries junk."""
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
    return Forwarded(posted, skipped)
