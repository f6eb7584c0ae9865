"""Reading CloudWatch alarm changes out of SNS messages."""

from __future__ import annotations

import json

import pytest
from auth0_webhooks.alarms import AlarmChange, NotAnAlarm, parse_alarm, sns_messages

from tests.conftest import load_event


def alarm(**changes: object) -> str:
    message: dict[str, object] = {
        "AlarmName": "auth0-webhooks-queue-age",
        "NewStateValue": "OK",
        "OldStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 1 datapoint [12.0 (25/11/26 09:10:00)] was not greater than 1800.0",
        "AlarmArn": "arn:aws:cloudwatch:eu-central-1:123456789012:alarm:auth0-webhooks-queue-age",
    }
    message.update(changes)
    return json.dumps({k: v for k, v in message.items() if v is not None})


def test_the_sample_event_is_a_dead_letter_alarm_in_us_east_1():
    [message] = list(sns_messages(load_event("alarm-sns.json")))
    change = parse_alarm(message or "")
    assert change == AlarmChange(
        name="auth0-webhooks-dead-letters",
        state="ALARM",
        old_state="OK",
        reason=json.loads(message or "")["NewStateReason"],
        region="us-east-1",
    )
    assert change.link == (
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
        "#alarmsV2:alarm/auth0-webhooks-dead-letters"
    )


def test_a_recovery_and_its_region():
    change = parse_alarm(alarm())
    assert (change.state, change.old_state, change.region) == ("OK", "ALARM", "eu-central-1")
    assert change.link.startswith("https://eu-central-1.console.aws.amazon.com/cloudwatch/home?region=eu-central-1#")


def test_the_link_quotes_the_name_and_follows_the_partition():
    change = parse_alarm(
        alarm(AlarmName="my stack/lag #1", AlarmArn="arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:x")
    )
    assert change.link == (
        "https://cn-north-1.console.amazonaws.cn/cloudwatch/home?region=cn-north-1#alarmsV2:alarm/my%20stack%2Flag%20%231"
    )


def test_a_missing_reason_and_an_odd_old_state_are_tolerated():
    change = parse_alarm(alarm(NewStateReason=None, OldStateValue="SOMETHING", NewStateValue="INSUFFICIENT_DATA"))
    assert (change.reason, change.old_state, change.state) == ("(no reason given)", None, "INSUFFICIENT_DATA")


@pytest.mark.parametrize(
    ("message", "why"),
    [
        ("not json at all", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (alarm(AlarmName=None), "AlarmName is missing"),
        (alarm(NewStateValue="FIRE"), "NewStateValue is 'FIRE'"),
        (alarm(AlarmArn="arn:aws:sns:us-east-1:123456789012:topic"), "AlarmArn is not the ARN"),
        (alarm(AlarmArn=None), "AlarmArn is not the ARN"),
    ],
)
def test_anything_else_is_not_an_alarm(message, why):
    with pytest.raises(NotAnAlarm, match=why):
        parse_alarm(message)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({}, []),
        ("junk", []),
        ({"Records": "junk"}, []),
        (
            {"Records": [{"Sns": {"Message": "a"}}, {"s3": {}}, "junk", {"Sns": {"Message": 3}}]},
            ["a", None, None, None],
        ),
    ],
)
def test_sns_messages_yields_one_entry_per_record(event, expected):
    assert list(sns_messages(event)) == expected
