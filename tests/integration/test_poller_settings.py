"""Every wrong setting stops the poller at start with a message naming it; secrets never show."""

from __future__ import annotations

import pytest
from auth0_webhooks.errors import Auth0Error, ConfigError

from devkit.logs import LogFactory
from functions.poller.app import lambda_handler
from tests.conftest import checkpoint_of, context, ids_of, load_event, queued_ids

EVENT = load_event("scheduled.json")
SECRET = "local-secret-do-not-log"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("AUTH0_DOMAIN", "", "AUTH0_DOMAIN must be set to a tenant domain"),
        ("AUTH0_DOMAIN", "example.auth0.com/api", "AUTH0_DOMAIN must be a tenant domain"),
        ("AUTH0_DOMAIN", "ftp://example.auth0.com", "AUTH0_DOMAIN must be a tenant domain"),
        ("AUTH0_DOMAIN", "http://127.0.0.1:99999", "AUTH0_DOMAIN must be a tenant domain"),
        ("AUTH0_CLIENT_ID", "", "AUTH0_CLIENT_ID must be set"),
        ("AUTH0_CLIENT_SECRET", "", "AUTH0_CLIENT_SECRET must be set, or AUTH0_CLIENT_SECRET_ARN"),
        ("CHECKPOINT_TABLE", "", "CHECKPOINT_TABLE must be set"),
        ("QUEUE_URL", "logs", "QUEUE_URL must be an SQS queue URL"),
        ("DEAD_LETTER_QUEUE_URL", "", "DEAD_LETTER_QUEUE_URL must be set"),
        ("BATCH_SIZE", "0", "BATCH_SIZE must be a whole number from 1 to 100; got '0'"),
        ("BATCH_SIZE", "101", "BATCH_SIZE must be a whole number from 1 to 100; got '101'"),
        ("BATCH_SIZE", "ten", "BATCH_SIZE must be a whole number from 1 to 100; got 'ten'"),
        ("BATCH_SIZE", "١٠", "BATCH_SIZE must be a whole number from 1 to 100"),  # noqa: RUF001  # Arabic-Indic 10
        ("BATCH_SIZE", "1_0", "BATCH_SIZE must be a whole number from 1 to 100; got '1_0'"),
        ("AUTH0_DOMAIN", "http://[::1", "AUTH0_DOMAIN must be a tenant domain"),
        ("AUTH0_DOMAIN", "https://admin:pw-do-not-log@example.eu.auth0.com", "AUTH0_DOMAIN must be a tenant domain"),
        ("AUTH0_DOMAIN", "admin:pw-do-not-log@example.eu.auth0.com", "AUTH0_DOMAIN must be a tenant domain"),
        ("SLACK_INCOMING_WEBHOOK_URL", "https://hooks.slack.com:0/x", "SLACK_INCOMING_WEBHOOK_URL must be an http(s)"),
        ("START_FROM", "900 2024", "START_FROM must be now, a UTC date such as 2026-11-01T00:00:00Z"),
        ("START_FROM", "3w", "START_FROM must be a duration in d (days), h (hours) or m (minutes)"),
        ("START_FROM", "2999-01-01", "START_FROM must be a date in the past (dates are UTC)"),
        ("RATE_LIMIT_RESERVE", "95%", "RATE_LIMIT_RESERVE must be a share of the rate limit left to the tenant's"),
        ("RATE_LIMIT_RESERVE", "a fifth", "RATE_LIMIT_RESERVE must be a share of the rate limit"),
        ("LOG_TYPES", "s,F!", "LOG_TYPES must be a comma-separated list of Auth0 log type codes"),
        ("MIN_LOG_LEVEL", "5", "MIN_LOG_LEVEL must be a whole number from 0 to 4; got '5'"),
        ("MIN_LOG_LEVEL", "error", "MIN_LOG_LEVEL must be a whole number from 0 to 4; got 'error'"),
        ("API_ENDPOINTS", "users,/api/v2/roles", "API_ENDPOINTS must be a comma-separated list of Management API"),
        ("SLACK_SEND_SUCCESS", "sometimes", "SLACK_SEND_SUCCESS must be true or false; got 'sometimes'"),
        ("SLACK_INCOMING_WEBHOOK_URL", "hooks.slack.com/x", "SLACK_INCOMING_WEBHOOK_URL must be an http(s) URL"),
    ],
)
def test_a_wrong_setting_fails_at_start_naming_it(poller_env, tenant, stack, monkeypatch, name, value, expected):
    tenant.add(LogFactory(seed=1).many(3))
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError) as raised:
        lambda_handler(EVENT, context())

    assert str(raised.value).startswith(expected)
    assert raised.value.setting == name
    assert "do-not-log" not in str(raised.value)
    assert tenant.stats.log_requests == 0 and queued_ids(stack) == []


def test_a_slack_url_is_never_echoed_in_its_error(poller_env, monkeypatch):
    monkeypatch.setenv("SLACK_INCOMING_WEBHOOK_URL", "hooks.slack.com/services/T0/B0/very-secret")
    with pytest.raises(ConfigError) as raised:
        lambda_handler(EVENT, context())
    assert "very-secret" not in str(raised.value)


def test_the_client_secret_can_come_from_secrets_manager(poller_env, tenant, stack, monkeypatch):
    arn = stack.client("secretsmanager").create_secret(Name=f"{stack.table}-auth0", SecretString=SECRET)["ARN"]
    monkeypatch.delenv("AUTH0_CLIENT_SECRET")
    monkeypatch.setenv("AUTH0_CLIENT_SECRET_ARN", arn)
    logs = LogFactory(seed=2).many(5)
    tenant.add(logs)

    lambda_handler(EVENT, context())

    assert queued_ids(stack) == ids_of(logs)


def test_the_client_secret_can_come_from_an_ssm_parameter(poller_env, tenant, stack, monkeypatch):
    name = f"/auth0-webhooks/{stack.table}/client-secret"
    stack.client("ssm").put_parameter(Name=name, Value=SECRET, Type="SecureString")
    monkeypatch.delenv("AUTH0_CLIENT_SECRET")
    monkeypatch.setenv("AUTH0_CLIENT_SECRET_ARN", name)
    logs = LogFactory(seed=3).many(5)
    tenant.add(logs)

    lambda_handler(EVENT, context())

    assert queued_ids(stack) == ids_of(logs)


def test_a_secret_that_cannot_be_read_is_named_without_its_value(poller_env, monkeypatch):
    monkeypatch.delenv("AUTH0_CLIENT_SECRET")
    monkeypatch.setenv("AUTH0_CLIENT_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing")
    with pytest.raises(
        ConfigError, match="AUTH0_CLIENT_SECRET_ARN must be a Secrets Manager secret this function can read"
    ):
        lambda_handler(EVENT, context())


def test_a_secret_given_twice_is_refused(poller_env, monkeypatch):
    monkeypatch.setenv("AUTH0_CLIENT_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x")
    with pytest.raises(ConfigError, match="AUTH0_CLIENT_SECRET must be set either as AUTH0_CLIENT_SECRET or as"):
        lambda_handler(EVENT, context())


def test_wrong_credentials_fail_without_showing_the_secret(poller_env, tenant, stack, monkeypatch):
    monkeypatch.setenv("AUTH0_CLIENT_SECRET", "wrong-secret-value")
    tenant.add(LogFactory(seed=4).many(3))

    with pytest.raises(Auth0Error) as raised:
        lambda_handler(EVENT, context())

    assert "401" in str(raised.value) and "access_denied" in str(raised.value)
    assert "wrong-secret-value" not in str(raised.value)
    assert queued_ids(stack) == []


def test_a_missing_scope_is_reported(poller_env, tenant, stack):
    tenant.scope = "read:users"
    tenant.add(LogFactory(seed=5).many(3))
    with pytest.raises(Auth0Error, match="403: Insufficient scope"):
        lambda_handler(EVENT, context())
    assert queued_ids(stack) == []


def test_an_upper_case_domain_keeps_the_checkpoint(poller_env, tenant, stack, monkeypatch):
    factory = LogFactory(seed=6)
    first, second = factory.many(5), factory.many(5)
    tenant.add(first)
    monkeypatch.setenv("AUTH0_DOMAIN", f"http://localhost:{tenant.port}")
    lambda_handler(EVENT, context())
    assert queued_ids(stack) == ids_of(first)
    tenant.add(second)
    monkeypatch.setenv("AUTH0_DOMAIN", f"HTTP://LocalHost:{tenant.port}")

    lambda_handler(EVENT, context())

    assert queued_ids(stack) == ids_of(second)  # the same checkpoint: no restart from the oldest log


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_an_ssm_parameter_arn_of_any_partition_and_a_flat_name_is_read(
    poller_env, tenant, stack, monkeypatch, partition
):
    name = f"flat-{partition}-{stack.table}"  # no slash: the ARN is …:parameter/<name>, the name has none
    stack.client("ssm").put_parameter(Name=name, Value=SECRET, Type="SecureString")
    monkeypatch.delenv("AUTH0_CLIENT_SECRET")
    monkeypatch.setenv("AUTH0_CLIENT_SECRET_ARN", f"arn:{partition}:ssm:us-east-1:123456789012:parameter/{name}")
    logs = LogFactory(seed=7).many(3)
    tenant.add(logs)

    lambda_handler(EVENT, context())

    assert queued_ids(stack) == ids_of(logs)


def test_a_checkpoint_kept_under_a_domain_with_capitals_is_carried_over(poller_env, tenant, stack, monkeypatch):
    factory = LogFactory(seed=8)
    first, second = factory.many(5), factory.many(5)
    tenant.add(first + second)
    legacy = f"LocalHost:{tenant.port}"  # the key earlier releases wrote for AUTH0_DOMAIN=http://LocalHost:…
    stack.client("dynamodb").put_item(
        TableName=stack.table, Item={"pk": {"S": legacy}, "log_id": {"S": first[-1]["log_id"]}}
    )
    monkeypatch.setenv("AUTH0_DOMAIN", f"http://{legacy}")

    lambda_handler(EVENT, context())

    assert queued_ids(stack) == ids_of(second)
    assert checkpoint_of(stack, f"localhost:{tenant.port}")["log_id"] == second[-1]["log_id"]
