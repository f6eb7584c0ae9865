"""``auth0-webhooks replay`` against the local tenant and moto's server.

Every test asserts exactly which log ids were queued (and how often), and that the live poller's
checkpoint item never changed. Dates are a few days before now, so ``--to`` is always in the past.
"""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from auth0_webhooks.auth0_source import Auth0LogSource
from auth0_webhooks.checkpoint import CheckpointStore
from auth0_webhooks.env import Secret
from auth0_webhooks.messages import Message
from auth0_webhooks.ops.replay import Replayer, ReplayStore, replay_key
from auth0_webhooks.ops.replay_command import main
from auth0_webhooks.queue import LogQueue
from auth0_webhooks.routes import default_route
from auth0_webhooks.routes.plan import compile_route
from auth0_webhooks.settings import Auth0Settings
from auth0_webhooks.signing import batch_id
from auth0_webhooks.windows import Window

from devkit.aws import Stack
from devkit.http import Reply, Request
from devkit.logs import LogFactory, make_log_id
from devkit.tenant import LocalTenant
from tests.conftest import ROOT, checkpoint_of, ids_of

T1 = (datetime.now(UTC) - timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
T2 = T1 + timedelta(minutes=5)
MS = timedelta(milliseconds=1)
LIVE_CHECKPOINT = make_log_id(T1 - timedelta(hours=1), 7)


def stamp(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def window_logs() -> list[dict[str, Any]]:
    """Logs from 30 s before T1 to past T2, each stored 137 ms after its date, with both edges exact."""
    factory = LogFactory(seed=11, start=T1 - timedelta(seconds=30))
    logs = factory.many(600)
    for when in (T1 - MS, T1, T1 + MS, T2 - MS, T2, T2 + MS):
        entry = factory.make()
        entry["date"] = stamp(when)
        logs.append(entry)
    for number, entry in enumerate(logs):
        when = datetime.fromisoformat(entry["date"].replace("Z", "+00:00"))
        entry["log_id"] = entry["_id"] = make_log_id(when + timedelta(milliseconds=137), number)
    return logs


def inside(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if T1 <= datetime.fromisoformat(e["date"].replace("Z", "+00:00")) < T2]


@pytest.fixture
def env(poller_env: dict[str, str], tenant: LocalTenant, stack: Stack, monkeypatch: pytest.MonkeyPatch):
    """The poller's settings, the tenant holding the window's logs, and a live checkpoint to leave alone."""
    for name in ("ROUTES_FILE", "RATE_LIMIT_RESERVE", "WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    logs = window_logs()
    tenant.add(logs)
    live = CheckpointStore(stack.client("dynamodb"), stack.table, domain_of(tenant))
    live.advance(None, LIVE_CHECKPOINT, stamp(T1 - timedelta(hours=1)))
    return logs


def domain_of(tenant: LocalTenant) -> str:
    return tenant.url.split("://", 1)[1].lower()


def replay(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--from", stamp(T1), "--to", stamp(T2), *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def queued(stack: Stack) -> list[dict[str, Any]]:
    return stack.drain()


def logged_ids(messages: list[dict[str, Any]]) -> list[str]:
    return sorted(entry["log_id"] for m in messages for entry in json.loads(m["Body"]))


def attribute(message: dict[str, Any], name: str) -> str | None:
    value = message.get("MessageAttributes", {}).get(name)
    return None if value is None else value["StringValue"]


def live_item(stack: Stack, tenant: LocalTenant) -> dict[str, str]:
    item = checkpoint_of(stack, domain_of(tenant))
    assert item["log_id"] == LIVE_CHECKPOINT
    return item


def test_a_replay_queues_exactly_the_window_with_its_first_and_last_millisecond(env, stack, tenant):
    before = live_item(stack, tenant)

    code, out, err = replay()

    messages = queued(stack)
    assert (code, err) == (0, "")
    assert logged_ids(messages) == sorted(ids_of(inside(env)))
    dates = {entry["date"] for m in messages for entry in json.loads(m["Body"])}
    assert stamp(T1) in dates and stamp(T2 - MS) in dates
    assert stamp(T1 - MS) not in dates and stamp(T2) not in dates
    for message in messages:  # the default route: today's messages, marked as replayed
        ids = [entry["log_id"] for entry in json.loads(message["Body"])]
        assert attribute(message, "replayed") == "true" and attribute(message, "route") is None
        assert attribute(message, "webhook_id") == batch_id(ids)
    assert f"{len(inside(env))} logs read from the window, {len(inside(env))} sent (routes: default)" in out
    assert checkpoint_of(stack, domain_of(tenant)) == before  # the live poller's checkpoint never moved


class InterruptedQueue(LogQueue):
    """SQS as it is, but Ctrl-C arrives on the ``at``-th send: before it (``after_sending=False``) or after it."""

    def __init__(self, stack: Stack, at: int, after_sending: bool) -> None:
        super().__init__(stack.client("sqs"), stack.queue_url, stack.dead_letter_queue_url)
        self.at, self.after_sending, self.calls = at, after_sending, 0

    def send(self, messages: Sequence[Message]) -> None:
        self.calls += 1
        if self.calls == self.at and not self.after_sending:
            raise KeyboardInterrupt
        super().send(messages)
        if self.calls == self.at:
            raise KeyboardInterrupt


def interrupted_run(stack: Stack, tenant: LocalTenant, at: int, after_sending: bool) -> None:
    settings = Auth0Settings(tenant.url, domain_of(tenant), "local-client", Secret("local-secret-do-not-log"))
    window = Window(T1, T2)
    route = compile_route(default_route("https://webhook.invalid"), hash_key=None)
    replayer = Replayer(Auth0LogSource(settings), window, [route])
    key = replay_key(settings.domain, window, ["default"], frozenset())  # what the command computes
    store = ReplayStore(stack.client("dynamodb"), stack.table, key)
    with pytest.raises(KeyboardInterrupt):
        replayer.run(InterruptedQueue(stack, at, after_sending), store)


@pytest.mark.parametrize("after_sending", [False, True])
def test_after_ctrl_c_the_same_command_resumes_and_every_log_arrives(env, stack, tenant, after_sending):
    before = live_item(stack, tenant)
    interrupted_run(stack, tenant, at=3, after_sending=after_sending)
    first = logged_ids(queued(stack))

    code, out, _ = replay()
    second = logged_ids(queued(stack))

    wanted = sorted(ids_of(inside(env)))
    assert code == 0 and "resuming after" in out
    counts = Counter(first + second)
    assert sorted(counts) == wanted
    twice = sorted(i for i, n in counts.items() if n > 1)
    if after_sending:  # the third page was sent, its cursor not saved: that page and no other comes twice
        third_page = set(first) - set(logged_ids_of_pages(env, 2))
        assert twice == sorted(third_page) and 0 < len(twice) <= 100 and max(counts.values()) == 2
    else:
        assert twice == []
    assert checkpoint_of(stack, domain_of(tenant)) == before


def logged_ids_of_pages(logs: list[dict[str, Any]], pages: int) -> list[str]:
    """The ids in the window among the first ``pages`` pages of 100 read from the window's first id."""
    start = Window(T1, T2).first_id()
    read = sorted(e["log_id"] for e in logs if e["log_id"] > start)[: 100 * pages]
    return sorted(set(read) & set(ids_of(inside(logs))))


def test_a_finished_replay_is_not_sent_again_unless_restarted(env, stack, tenant):
    assert replay()[0] == 0
    assert len(logged_ids(queued(stack))) == len(inside(env))

    code, out, _ = replay()
    assert code == 0 and "replayed already" in out and queued(stack) == []

    assert replay("--restart")[0] == 0
    assert logged_ids(queued(stack)) == sorted(ids_of(inside(env)))


ROUTES = """
version: 1
routes:
  - id: everything
    destination: {type: webhook, url: https://siem.example.com/in}
  - id: failures
    match: {types: [f, fp]}
    pii: {mask: [ip]}
    destination: {type: webhook, url: https://security.example.com/in}
"""


def test_a_replay_into_one_route_only(env, stack, tenant, tmp_path: Path, monkeypatch):
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES)
    monkeypatch.setenv("ROUTES_FILE", str(path))
    before = live_item(stack, tenant)

    code, _, err = replay("--route", "failures")

    messages = queued(stack)
    failures = [e for e in inside(env) if e["type"] in ("f", "fp")]
    assert (code, err) == (0, "") and failures
    assert logged_ids(messages) == sorted(ids_of(failures))
    for message in messages:
        ids = [entry["log_id"] for entry in json.loads(message["Body"])]
        assert attribute(message, "route") == "failures" and attribute(message, "replayed") == "true"
        assert attribute(message, "webhook_id") == "failures_" + batch_id(ids)
        assert all(entry.get("ip") in (None, "****") for entry in json.loads(message["Body"]))
    assert checkpoint_of(stack, domain_of(tenant)) == before


def test_only_the_given_types(env, stack):
    code, _, _ = replay("--types", "s,f")

    assert code == 0
    assert logged_ids(queued(stack)) == sorted(ids_of([e for e in inside(env) if e["type"] in ("s", "f")]))


def test_the_dry_run_counts_by_type_and_route_and_sends_nothing(env, stack, tenant, tmp_path: Path, monkeypatch):
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES)
    monkeypatch.setenv("ROUTES_FILE", str(path))

    code, out, _ = replay("--dry-run")

    window = inside(env)
    types = Counter(e["type"] for e in window)
    failures = sum(n for t, n in types.items() if t in ("f", "fp"))
    assert code == 0
    assert f"holds {len(window)} logs; nothing was sent" in out
    assert "  by type: " + ", ".join(f"{t} {n}" for t, n in sorted(types.items(), key=lambda i: (-i[1], i[0]))) in out
    assert f"  per route: everything {len(window)}, failures {failures}" in out
    assert queued(stack) == []
    items = stack.client("dynamodb").scan(TableName=stack.table)["Items"]
    assert [item["pk"]["S"] for item in items] == [domain_of(tenant)]  # no replay item: nothing to resume


def test_a_malformed_entry_in_the_window_is_dead_lettered(env, stack, tenant):
    broken = {"log_id": make_log_id(T1 + timedelta(seconds=1), 999_999), "type": "s"}  # no date
    tenant.add([broken])

    code, _, err = replay()
    assert (code, err) == (0, "")

    assert logged_ids(queued(stack)) == sorted(ids_of(inside(env)))
    [dead] = stack.drain(stack.dead_letter_queue_url)
    assert json.loads(dead["Body"])["log_id"] == broken["log_id"]
    assert "malformed log" in (attribute(dead, "reason") or "")


# -- exit codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--from", "2026-11-02", "--to", "2026-11-01"], "--to must be a date after --from"),
        (["--from", "yesterday", "--to", "now"], "--from must be a UTC date"),
        (["--from", "1d", "--to", "now", "--route", "nope"], "--route must be one of default; got 'nope'"),
        (["--to", "now"], "the following arguments are required: --from"),
    ],
)
def test_a_wrong_command_line_exits_2(env, capsys, args, said):
    with pytest.raises(SystemExit) as stopped:
        main(args)

    assert stopped.value.code == 2
    assert said in capsys.readouterr().err


def test_a_window_older_than_every_kept_log_exits_1_with_one_line(env, stack):
    out, err = io.StringIO(), io.StringIO()
    code = main(["--from", stamp(T1 - timedelta(days=2)), "--to", stamp(T1 - timedelta(days=1))], out=out, err=err)

    assert code == 1
    assert err.getvalue().count("\n") == 1 and "Traceback" not in err.getvalue()
    assert "the window ends before the oldest log the tenant keeps" in err.getvalue()
    assert queued(stack) == []


def test_a_failure_exits_1_without_a_secret_or_a_traceback(env, stack, monkeypatch):
    monkeypatch.setenv("AUTH0_CLIENT_SECRET", "wrong-secret-value")

    code, out, err = replay()

    assert code == 1 and err.count("\n") == 1
    assert "replay: " in err and "wrong-secret-value" not in err + out and "Traceback" not in err
    assert queued(stack) == []


def test_a_wrong_rate_limit_reserve_exits_1_naming_it(env, stack, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_RESERVE", "95%")

    code, _, err = replay()

    assert code == 1 and err.startswith("replay: RATE_LIMIT_RESERVE must be a share of the rate limit")
    assert queued(stack) == []


def test_the_command_finds_the_table_and_queues_from_a_stack(env, stack, tenant, monkeypatch):
    name = f"auth0-webhooks-{stack.table.rsplit('-', 1)[1]}"
    outputs = {"CheckpointTableName": stack.table, "QueueUrl": stack.queue_url}
    stack.client("cloudformation").create_stack(
        StackName=name,
        TemplateBody=json.dumps(
            {
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {
                    **{key: {"Value": value} for key, value in outputs.items()},
                    "DeadLetterQueueUrl": {"Value": stack.dead_letter_queue_url},
                },
            }
        ),
    )
    for variable in ("CHECKPOINT_TABLE", "QUEUE_URL", "DEAD_LETTER_QUEUE_URL"):
        monkeypatch.delenv(variable)
    command = [sys.executable, "-m", "auth0_webhooks.ops", "replay", "--from", stamp(T1), "--to", stamp(T2)]

    done = subprocess.run([*command, "--stack", name], check=False, capture_output=True, text=True, cwd=ROOT)
    missing = subprocess.run(command, check=False, capture_output=True, text=True, cwd=ROOT)

    assert done.returncode == 0, done.stderr
    assert logged_ids(queued(stack)) == sorted(ids_of(inside(env)))
    assert "\x1b[" not in done.stdout  # no terminal: plain lines, no progress bar
    assert missing.returncode == 2
    assert "give --stack, or --table, --queue-url and --dead-letter-queue-url" in missing.stderr


HASHING = """
version: 1
routes:
  - id: siem
    pii: {{hash: [ip], hash_key_secret: {secret}}}
    destination: {{type: webhook, url: https://siem.example.com/in}}
"""


def test_a_route_that_hashes_gets_its_key_from_the_secret_and_hashes(env, stack, tmp_path: Path, monkeypatch):
    secret = f"replay-test/hash-key-{stack.table.rsplit('-', 1)[1]}"
    stack.client("secretsmanager").create_secret(Name=secret, SecretString="k" * 32)
    path = tmp_path / "routes.yaml"
    path.write_text(HASHING.format(secret=secret))
    monkeypatch.setenv("ROUTES_FILE", str(path))

    code, _, err = replay()

    logs = {entry["log_id"]: entry for entry in inside(env)}
    sent = [entry for m in queued(stack) for entry in json.loads(m["Body"])]
    assert (code, err) == (0, "") and sorted(e["log_id"] for e in sent) == sorted(logs)
    hashes: dict[str, set[str]] = {}
    for entry in sent:
        if "ip" in logs[entry["log_id"]]:
            assert entry["ip"] != logs[entry["log_id"]]["ip"]
            hashes.setdefault(logs[entry["log_id"]]["ip"], set()).add(entry["ip"])
    assert hashes and all(len(values) == 1 for values in hashes.values())  # one address, one hash


def test_a_hash_key_that_cannot_be_read_exits_1_naming_the_route(env, stack, tmp_path: Path, monkeypatch):
    path = tmp_path / "routes.yaml"
    path.write_text(HASHING.format(secret="replay-test/no-such-key"))
    monkeypatch.setenv("ROUTES_FILE", str(path))

    code, _, err = replay()

    assert code == 1
    assert err.startswith("replay: route siem: pii.hash_key_secret must be a Secrets Manager secret this function")
    assert err.endswith("; got 'replay-test/no-such-key'\n") and err.count("\n") == 1
    assert queued(stack) == []


def test_a_window_partly_older_than_the_kept_logs_is_read_from_the_oldest_and_says_so(env, stack, tenant):
    kept = [e for e in env if e["date"] >= stamp(T1 + timedelta(minutes=1))]
    tenant.forget_before(kept[0]["log_id"])

    code, _, err = replay()

    assert code == 0
    assert (
        err == f"replay: the tenant keeps logs from {datetime.fromisoformat(kept[0]['date']).isoformat()} only:"
        " older ones are gone\n"
    )
    assert logged_ids(queued(stack)) == sorted(ids_of(inside(kept)))


def test_ids_that_carry_no_time_exit_1_saying_why(poller_env, stack, tenant, monkeypatch):
    monkeypatch.delenv("ROUTES_FILE", raising=False)
    logs = inside(window_logs())
    tenant.add([{**entry, "log_id": f"log-{n:06d}", "_id": f"log-{n:06d}"} for n, entry in enumerate(logs)])

    code, _, err = replay()

    assert code == 1
    assert re.fullmatch(
        r"replay: this tenant's log ids carry no time \(replay reads by log id\): "
        r"log id 'log-\d{6}' does not start with 900 and a UTC time\n",
        err,
    )
    assert queued(stack) == []


class PausingTenant(LocalTenant):
    """A local tenant that holds its ``pause_at``-th log request until the test releases it."""

    def __init__(self, pause_at: int) -> None:
        super().__init__()
        self.pause_at, self.seen = pause_at, 0
        self.reached, self.release = threading.Event(), threading.Event()

    def handle(self, request: Request) -> Reply:
        if request.path.startswith("/api/v2/logs"):
            with self.lock:
                self.seen += 1
                pause = self.seen == self.pause_at
            if pause:
                self.reached.set()
                self.release.wait(60)
        return super().handle(request)


def test_ctrl_c_exits_1_with_one_line_and_the_same_command_resumes(poller_env, stack, monkeypatch):
    logs = window_logs()
    command = [sys.executable, "-m", "auth0_webhooks.ops", "replay", "--from", stamp(T1), "--to", stamp(T2)]
    with PausingTenant(pause_at=4) as tenant:  # the oldest log, the newest, the first page, then the second
        tenant.add(logs)
        monkeypatch.setenv("AUTH0_DOMAIN", tenant.url)
        running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            assert tenant.reached.wait(60), "the replay never asked for its second page"
            running.send_signal(signal.SIGINT)  # Ctrl-C while it waits for the second page
            _, err = running.communicate(timeout=60)
        finally:
            tenant.release.set()
            if running.poll() is None:
                running.kill()
        first = logged_ids(queued(stack))

        resumed = subprocess.run(command, check=False, capture_output=True, text=True, cwd=ROOT, timeout=120)

    assert running.returncode == 1
    assert err == "replay: interrupted; the same command resumes after the last page sent\n"
    assert 0 < len(first) < len(inside(logs))  # the first page was sent and saved, no more
    assert resumed.returncode == 0 and "resuming after" in resumed.stdout, resumed.stderr
    assert Counter(first + logged_ids(queued(stack))) == Counter(ids_of(inside(logs)))  # each log once
