"""The poller handler against moto's server and the local tenant, over real HTTP.

Every test asserts exactly which log ids reached the queue (and the dead-letter queue).
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from auth0_webhooks.errors import Auth0Error, QueueError

from devkit.lambda_context import LambdaContext
from devkit.logs import LogFactory
from devkit.proxy import FaultProxy, sqs_action
from devkit.receivers import SlackReceiver, payload_fields
from devkit.tenant import LocalTenant, TokenBucket
from functions.poller.app import lambda_handler
from tests.conftest import checkpoint_of, context, ids_of, load_event, queued_ids

EVENT = load_event("scheduled.json")


def key(tenant: LocalTenant) -> str:
    return tenant.url.split("://", 1)[1]


def run(seconds: float = 60.0) -> dict:
    return lambda_handler(EVENT, context(seconds))


def test_fresh_start_reads_from_the_oldest_log(poller_env, tenant, stack):
    logs = LogFactory(seed=1).many(250)
    tenant.add(logs)

    result = run()

    assert queued_ids(stack) == ids_of(logs)
    assert result["stopped"] == "caught-up"
    assert checkpoint_of(stack, key(tenant))["log_id"] == logs[-1]["log_id"]
    first_call = tenant.stats.calls[0]
    assert first_call[1]["sort"] == "date:1"  # search mode for the very first page
    assert all("from" in query for _, query, _ in tenant.stats.calls[1:])  # then checkpoint mode


def test_resumes_from_the_checkpoint(poller_env, tenant, stack):
    factory = LogFactory(seed=2)
    first, second = factory.many(120), factory.many(30)
    tenant.add(first)
    run()
    assert queued_ids(stack) == ids_of(first)
    tenant.add(second)

    result = run()

    assert queued_ids(stack) == ids_of(second)
    assert result["checkpoint"] == second[-1]["log_id"]
    assert result["newest_log_date"] == second[-1]["date"]


def test_an_empty_tenant_enqueues_nothing_and_leaves_no_checkpoint(poller_env, tenant, stack):
    result = run()
    assert queued_ids(stack) == []
    assert result["checkpoint"] is None
    assert "log_id" not in checkpoint_of(stack, key(tenant))


def test_start_from_applies_once_per_value(poller_env, tenant, stack, monkeypatch):
    factory = LogFactory(seed=3)
    logs = factory.many(100)
    tenant.add(logs)
    monkeypatch.setenv("START_FROM", logs[49]["log_id"])

    run()
    assert queued_ids(stack) == ids_of(logs[50:])

    more = factory.many(10)
    tenant.add(more)
    run()  # same START_FROM: no rewind
    assert queued_ids(stack) == ids_of(more)

    monkeypatch.setenv("START_FROM", logs[89]["log_id"])
    run()  # a new START_FROM: start again after it
    assert queued_ids(stack) == ids_of(logs[90:] + more)
    assert checkpoint_of(stack, key(tenant))["start_from"] == logs[89]["log_id"]


def test_logs_with_only_the_legacy_id_are_read(poller_env, tenant, stack):
    logs = LogFactory(seed=4).many(30)
    for entry in logs:
        del entry["log_id"]
    tenant.add(logs)

    run()

    assert queued_ids(stack) == [entry["_id"] for entry in logs]
    assert checkpoint_of(stack, key(tenant))["log_id"] == logs[-1]["_id"]


def mixed_logs() -> list[dict]:
    factory = LogFactory(seed=5)
    logs = [factory.make(t) for t in ("s", "f", "fp", "scp", "limit_wc", "w", "depnote", "brand_new_code")]
    logs.append(factory.make("sapi", details={"request": {"method": "patch", "path": "/api/v2/users/auth0|1"}}))
    logs.append(factory.make("sapi", details={"request": {"method": "post", "path": "/api/v2/users-by-email"}}))
    logs.append(factory.make("fapi", details={"request": {"method": "delete", "path": "/api/v2/connections/con_1"}}))
    logs.append(factory.make("sapi", details={"request": {"method": "patch", "path": "/api/v2/clients/abc"}}))
    return logs


def ids_where(logs: list[dict], *types: str) -> list[str]:
    return [entry["log_id"] for entry in logs if entry["type"] in types]


@pytest.mark.parametrize(
    ("settings", "kept"),
    [
        ({"LOG_TYPES": "s,f,scp"}, lambda logs: ids_where(logs, "s", "f", "scp")),
        ({"MIN_LOG_LEVEL": "3"}, lambda logs: ids_where(logs, "f", "fp", "limit_wc", "fapi")),
        ({"MIN_LOG_LEVEL": "4"}, lambda logs: ids_where(logs, "limit_wc")),
        # an unknown type counts as level 1: kept at 1, dropped at 2
        ({"MIN_LOG_LEVEL": "1"}, lambda logs: [e["log_id"] for e in logs]),
        ({"MIN_LOG_LEVEL": "2"}, lambda logs: ids_where(logs, "f", "fp", "limit_wc", "w", "depnote", "fapi")),
        # only Management API logs are filtered by endpoint; users-by-email is not under users/
        (
            {"API_ENDPOINTS": "users,connections"},
            lambda logs: (
                [e["log_id"] for e in logs if e["type"] not in ("sapi", "fapi")]
                + [logs[8]["log_id"], logs[10]["log_id"]]
            ),
        ),
        # together they narrow: sapi is level 1, so MIN_LOG_LEVEL=3 removes it (no union)
        ({"LOG_TYPES": "sapi,fapi,fp", "MIN_LOG_LEVEL": "3"}, lambda logs: ids_where(logs, "fp", "fapi")),
        (
            {"LOG_TYPES": "sapi,fapi,s", "API_ENDPOINTS": "clients"},
            lambda logs: ids_where(logs, "s") + [logs[11]["log_id"]],
        ),
        ({"LOG_TYPES": "s,brand_new_code", "MIN_LOG_LEVEL": "1"}, lambda logs: ids_where(logs, "s", "brand_new_code")),
    ],
)
def test_filters(poller_env, tenant, stack, monkeypatch, settings, kept):
    logs = mixed_logs()
    tenant.add(logs)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)

    result = run()

    assert queued_ids(stack) == sorted(kept(logs))
    assert result["read"] == len(logs)
    assert checkpoint_of(stack, key(tenant))["log_id"] == logs[-1]["log_id"]


def test_an_all_filtered_page_still_moves_the_checkpoint(poller_env, tenant, stack, monkeypatch):
    monkeypatch.setenv("LOG_TYPES", "limit_wc")
    monkeypatch.setenv("BATCH_SIZE", "50")
    logs = LogFactory(seed=6).many(120, log_type="s")
    tenant.add(logs)

    result = run()

    assert queued_ids(stack) == []
    assert result["kept"] == 0 and result["read"] == 120
    assert checkpoint_of(stack, key(tenant))["log_id"] == logs[-1]["log_id"]


def test_batches_are_split_by_size_and_an_oversized_log_is_dead_lettered(poller_env, tenant, stack):
    factory = LogFactory(seed=7)
    logs = factory.many(12, large_every=1, large_size=200_000)  # 12 x 200 KB: at least three messages
    huge = factory.make("s", size=1_200_000)  # cannot fit in any message
    tail = factory.many(5)
    tenant.add(logs + [huge] + tail)

    run()

    messages = stack.drain()
    assert all(len(m["Body"].encode()) < 1_048_576 for m in messages)
    assert len(messages) >= 3
    assert sorted(e["log_id"] for m in messages for e in json.loads(m["Body"])) == ids_of(logs + tail)
    for message in messages:
        ids = [e["log_id"] for e in json.loads(message["Body"])]
        attributes = message["MessageAttributes"]
        assert attributes["log_count"]["StringValue"] == str(len(ids))
        assert (attributes["first_log_id"]["StringValue"], attributes["last_log_id"]["StringValue"]) == (
            ids[0],
            ids[-1],
        )
    [dead] = stack.receive_all(stack.dead_letter_queue_url)
    assert json.loads(dead["Body"])["log_id"] == huge["log_id"]
    assert "over the SQS message limit" in dead["MessageAttributes"]["reason"]["StringValue"]


def test_a_malformed_entry_goes_to_the_dead_letter_queue_and_the_rest_are_queued(poller_env, tenant, stack):
    logs = LogFactory(seed=8).many(10)
    tenant.add(logs)
    broken = {"date": logs[4]["date"], "type": "s", "description": "no id at all"}
    tenant.add([broken], keys=[logs[4]["log_id"] + "5"])

    run()

    assert queued_ids(stack) == ids_of(logs)
    [dead] = stack.receive_all(stack.dead_letter_queue_url)
    assert json.loads(dead["Body"]) == broken
    assert "malformed" in dead["MessageAttributes"]["reason"]["StringValue"]


def test_rate_limits_are_waited_out_without_hammering(poller_env, tenant, stack, monkeypatch):
    tenant.bucket = TokenBucket(burst=2, rate=4)
    monkeypatch.setenv("BATCH_SIZE", "5")
    logs = LogFactory(seed=9).many(40)
    tenant.add(logs)

    result = run()

    assert queued_ids(stack) == ids_of(logs)
    assert result["rate_limit_waits"] >= 1
    assert tenant.stats.answered_429 <= 1  # the poller waits for the reset instead of trying its luck


def test_a_rate_limit_that_outlasts_the_run_ends_it_cleanly(poller_env, tenant, stack, monkeypatch):
    monkeypatch.setenv("BATCH_SIZE", "10")
    logs = LogFactory(seed=10).many(50)
    tenant.add(logs)
    # two pages answered, then 429s whose reset is an hour away: more than any run has
    tenant.faults.throttle_after, tenant.faults.throttle = 2, 1000
    tenant.faults.throttle_reset = str(int(time.time()) + 3600)

    result = run()

    assert result["stopped"] == "rate-limited" and result["rate_limit_waits"] == 0
    assert queued_ids(stack) == ids_of(logs[:11])  # the oldest, then a page of 10
    assert checkpoint_of(stack, key(tenant))["log_id"] == logs[10]["log_id"]
    # no second try of any request: the reset is too far (a backlog drain's threads may each have met one 429)
    throttled = [tuple(sorted(query.items())) for _, query, status in tenant.stats.calls if status == 429]
    assert throttled and len(throttled) == len(set(throttled))


def test_server_errors_garbled_replies_and_dropped_connections_are_retried(poller_env, tenant, stack, monkeypatch):
    monkeypatch.setenv("BATCH_SIZE", "20")
    logs = LogFactory(seed=11).many(60)
    tenant.add(logs)
    tenant.faults.fail, tenant.faults.garble, tenant.faults.drop = 1, 1, 1

    result = run()

    assert queued_ids(stack) == ids_of(logs)
    assert result["auth0_retries"] == 3


def test_an_auth0_outage_fails_the_run_and_keeps_the_checkpoint(poller_env, tenant, stack, monkeypatch):
    monkeypatch.setenv("BATCH_SIZE", "20")
    logs = LogFactory(seed=12).many(60)
    tenant.add(logs)
    run()
    assert queued_ids(stack) == ids_of(logs)
    tenant.faults.fail = 1000

    with pytest.raises(Auth0Error, match="503"):
        run(seconds=6)

    assert queued_ids(stack) == []
    assert checkpoint_of(stack, key(tenant))["log_id"] == logs[-1]["log_id"]


def test_slow_replies_time_out_and_are_retried(poller_env, tenant, stack, monkeypatch):
    factory = LogFactory(seed=14)
    tenant.add(factory.many(10))
    run()  # first run: fresh start, token
    queued_ids(stack)
    extra = factory.many(3)
    tenant.add(extra)
    tenant.faults.slow_seconds = 30.0  # far longer than the 2.5 s the run can wait: no race

    with pytest.raises(Auth0Error, match="no complete answer within"):
        run(seconds=5.5)
    assert queued_ids(stack) == []

    tenant.faults.slow_seconds = 0
    run()
    assert queued_ids(stack) == ids_of(extra)


class PagedContext(LambdaContext):
    """An invocation whose clock moves one second per request the tenant answers, and only then."""

    def __init__(self, tenant: LocalTenant, seconds: float) -> None:
        super().__init__(seconds)
        self.tenant, self.seconds = tenant, seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(max(0.0, self.seconds - self.tenant.stats.log_requests) * 1000)


def test_running_out_of_time_mid_backlog_loses_nothing(poller_env, tenant, stack):
    logs = LogFactory(seed=16).many(1000)
    tenant.add(logs)

    first = lambda_handler(EVENT, PagedContext(tenant, seconds=10))  # 3 s reserve, 1 s a page: a few pages

    assert first["stopped"] == "out-of-time"
    enqueued = queued_ids(stack)
    assert 0 < len(enqueued) < 1000
    assert enqueued == ids_of(logs[: len(enqueued)])
    assert checkpoint_of(stack, key(tenant))["log_id"] == enqueued[-1]

    run()
    assert queued_ids(stack) == ids_of(logs[len(enqueued) :])  # the rest, and nothing twice


def test_sqs_failing_mid_run_keeps_the_checkpoint_at_the_last_accepted_batch(poller_env, tenant, stack, monkeypatch):
    proxy = FaultProxy(stack.endpoint).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", proxy.url)
        rule = proxy.fail_when(sqs_action("SendMessageBatch"), after=2)  # the third batch never gets in
        monkeypatch.setenv("BATCH_SIZE", "50")
        logs = LogFactory(seed=17).many(300)
        tenant.add(logs)

        with pytest.raises(QueueError):
            run()

        # page 1 is the single oldest log (fresh start), page 2 the next 50: 51 logs accepted
        assert queued_ids(stack) == ids_of(logs[:51])
        assert checkpoint_of(stack, key(tenant))["log_id"] == logs[50]["log_id"]

        rule.times = rule.failed  # SQS is back
        run()
        assert queued_ids(stack) == ids_of(logs[51:])
    finally:
        proxy.stop()


def test_two_pollers_at_once_never_skip_or_rewind(poller_env, tenant, stack, monkeypatch):
    monkeypatch.setenv("BATCH_SIZE", "20")
    logs = LogFactory(seed=18).many(200)
    tenant.add(logs)
    tenant.faults.slow_seconds = 0.05
    results: list[dict] = []
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            results.append(run())
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert queued_ids(stack) == ids_of(logs)  # each log exactly once: the lease keeps the second run out
    assert checkpoint_of(stack, key(tenant))["log_id"] == logs[-1]["log_id"]
    assert {r["stopped"] for r in results} <= {"caught-up", "leased"}


def test_the_token_is_kept_across_invocations(poller_env, tenant, stack):
    tenant.add(LogFactory(seed=19).many(5))
    run()
    run()
    run()
    assert tenant.stats.token_requests == 1


def test_an_expired_token_is_fetched_again(poller_env, tenant, stack):
    tenant.add(LogFactory(seed=20).many(5))
    run()
    tenant.tokens.clear()  # the tenant forgets it: 401 on the next call

    run()

    assert tenant.stats.token_requests == 2


def test_a_failed_run_tells_slack_without_secrets(poller_env, tenant, stack, monkeypatch):
    with SlackReceiver() as slack:
        monkeypatch.setenv("SLACK_INCOMING_WEBHOOK_URL", f"{slack.url}/services/T0/B0/poller-slack-secret")
        monkeypatch.setenv("AUTH0_CLIENT_SECRET", "wrong-client-secret")
        tenant.add(LogFactory(seed=21).many(3))

        with pytest.raises(Auth0Error):
            run()

        [payload] = slack.payloads
        assert slack.titles() == ["Poller run failed"]
        fields = payload_fields(payload)
        assert "401" in fields["Error"] and fields["Checkpoint"] == "none yet"
        text = json.dumps(payload)
        assert "wrong-client-secret" not in text and "poller-slack-secret" not in text
