"""Start points and time windows against the local tenant, over real HTTP.

Every test asserts exactly which log ids a start point or a window gives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from auth0_webhooks.auth0_source import Auth0LogSource
from auth0_webhooks.env import Secret
from auth0_webhooks.log_ids import ID_DATE_TOLERANCE, log_date, synthetic_id
from auth0_webhooks.search_mode import SearchCursor, logs_between
from auth0_webhooks.settings import Auth0Settings
from auth0_webhooks.start_points import parse_start_from, resolve_start
from auth0_webhooks.windows import Window, read_window

from devkit.logs import LogFactory, make_log_id
from devkit.tenant import LocalTenant
from tests.conftest import ids_of

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def source_for(tenant: LocalTenant, **kwargs: Any) -> Auth0LogSource:
    domain = tenant.url.split("://", 1)[1]
    settings = Auth0Settings(tenant.url, domain, "local-client", Secret("local-secret-do-not-log"))
    return Auth0LogSource(settings, **kwargs)


def forever() -> float:
    return 60.0


def read_all_after(source: Auth0LogSource, checkpoint: str | None) -> list[str]:
    """Every id checkpoint mode gives after ``checkpoint`` (the oldest log first when None)."""
    ids: list[str] = []
    if checkpoint is None:
        first = source.oldest(forever).logs
        if not first:
            return ids
        ids.append(first[0]["log_id"])
        checkpoint = ids[0]
    while page := source.after(checkpoint, 100, forever).logs:
        ids += [entry["log_id"] for entry in page]
        checkpoint = ids[-1]
    return ids


def at(entry: dict[str, Any]) -> datetime:
    date = log_date(entry)
    assert date is not None
    return date


# -- start points -------------------------------------------------------------------------------


def test_now_starts_after_the_newest_log(tenant):
    factory = LogFactory(seed=1, start=START)
    tenant.add(factory.many(150))
    source = source_for(tenant)

    resolved = resolve_start(parse_start_from("now", datetime.now(UTC)), source, forever)
    later = factory.many(20)
    tenant.add(later)

    assert resolved.how == "newest-log"
    assert read_all_after(source, resolved.checkpoint) == ids_of(later)
    assert tenant.stats.calls[0][1] == {"sort": "date:-1", "page": "0", "per_page": "1", "include_totals": "false"}


def test_now_on_an_empty_tenant_starts_before_every_later_log(tenant):
    source = source_for(tenant)
    resolved = resolve_start(parse_start_from("now", datetime.now(UTC)), source, forever)
    later = LogFactory(seed=2, start=datetime.now(UTC) + timedelta(seconds=1)).many(5)
    tenant.add(later)

    assert resolved.how == "empty-tenant"
    assert read_all_after(source, resolved.checkpoint) == ids_of(later)


@pytest.mark.parametrize("start_from", ["2026-11-01T09:10:00Z", "2026-11-01T09:10:00", "30m"])
def test_a_date_or_a_duration_becomes_a_synthetic_checkpoint(tenant, start_from):
    logs = LogFactory(seed=3, start=START).many(5000)  # about 17 minutes of logs, 5-400 ms apart
    tenant.add(logs)
    now = datetime(2026, 11, 1, 9, 40, tzinfo=UTC)  # "30m" before it is 09:10
    source = source_for(tenant)

    resolved = resolve_start(parse_start_from(start_from, now), source, forever)
    got = read_all_after(source, resolved.checkpoint)

    since = datetime(2026, 11, 1, 9, 10, tzinfo=UTC)
    assert resolved.how == "synthetic-id"
    assert resolved.checkpoint == synthetic_id(since - ID_DATE_TOLERANCE)
    # every log from 09:30 on, and before it only those within the tolerance
    assert got == [entry["log_id"] for entry in logs if at(entry) >= since - ID_DATE_TOLERANCE]
    assert set(ids_of([e for e in logs if at(e) >= since])) <= set(got)


def test_a_plain_date_starts_at_midnight_utc(tenant):
    factory = LogFactory(seed=4, start=datetime(2026, 10, 31, 23, 59, 50, tzinfo=UTC))
    logs = factory.many(200)
    tenant.add(logs)

    point = parse_start_from("2026-11-01", datetime(2026, 11, 2, tzinfo=UTC))
    resolved = resolve_start(point, source_for(tenant), forever)

    assert resolved.checkpoint == synthetic_id(datetime(2026, 10, 31, 23, 59, 50, tzinfo=UTC))


def opaque(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same logs with ids that carry no time (as a tenant whose ids are not Auth0's usual shape)."""
    return [{**entry, "log_id": f"log-{index:08d}", "_id": f"log-{index:08d}"} for index, entry in enumerate(logs)]


def test_ids_without_time_fall_back_to_search_mode(tenant, caplog):
    logs = opaque(LogFactory(seed=5, start=START).many(3000))
    tenant.add(logs)
    since = at(logs[1234])

    resolved = resolve_start(parse_start_from(since.isoformat(), datetime.now(UTC)), source_for(tenant), forever)

    assert resolved.how == "search-fallback"
    assert resolved.checkpoint == logs[1233]["log_id"]  # the newest log dated before the start
    assert read_all_after(source_for(tenant), resolved.checkpoint) == ids_of(logs[1234:])
    searches = [query for _, query, _ in tenant.stats.calls if "q" in query]
    assert searches and all(query["q"].startswith("date:[") for query in searches)
    [warning] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "log ids do not carry their time" in warning.getMessage()
    assert "does not start with 900" in warning.reason


def test_a_shifted_clock_in_the_ids_also_falls_back(tenant):
    """Ids that look right but carry a time far from the log's date are not trusted."""
    logs = LogFactory(seed=6, start=START).many(10)
    shifted = [{**e, "log_id": make_log_id(at(e) + timedelta(hours=2), i)} for i, e in enumerate(logs)]
    tenant.add(shifted)

    resolved = resolve_start(parse_start_from("2026-11-01T09:00:01Z", datetime.now(UTC)), source_for(tenant), forever)

    assert resolved.how == "search-fallback"


def test_a_log_id_is_used_as_it_is(tenant):
    resolved = resolve_start(parse_start_from("90020261101", datetime.now(UTC)), source_for(tenant), forever)
    assert (resolved.checkpoint, resolved.how) == ("90020261101", "log-id")
    assert tenant.stats.log_requests == 0


# -- windows -------------------------------------------------------------------------------------

T1 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 1, 10, 5, tzinfo=UTC)
MS = timedelta(milliseconds=1)


def edge_logs() -> list[dict[str, Any]]:
    """Logs around a window, each stored 137 ms after its date (as in Auth0's sample), with the edges exact."""
    factory = LogFactory(seed=7, start=T1 - timedelta(seconds=30))
    logs = factory.many(600)  # 30 s before T1 to past T2
    edges = [T1 - MS, T1, T1 + MS, T2 - MS, T2, T2 + MS]
    for when in edges:
        entry = factory.make()
        entry["date"] = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        logs.append(entry)
    for number, entry in enumerate(logs):
        entry["log_id"] = entry["_id"] = make_log_id(at(entry) + timedelta(milliseconds=137), number)
    return logs


def test_a_window_gives_exactly_its_logs_with_its_first_and_last_millisecond(tenant):
    logs = edge_logs()
    tenant.add(logs)

    got = []
    for page in read_window(source_for(tenant), Window(T1, T2), forever, take=37):
        got += ids_of(page.logs)
        assert page.malformed == []

    wanted = sorted(entry["log_id"] for entry in logs if T1 <= at(entry) < T2)
    assert sorted(got) == wanted and len(got) == len(set(got))
    dates = {entry["date"] for entry in logs if entry["log_id"] in got}
    assert "2026-11-01T10:00:00.000Z" in dates and "2026-11-01T10:04:59.999Z" in dates
    assert "2026-11-01T09:59:59.999Z" not in dates and "2026-11-01T10:05:00.000Z" not in dates


def test_a_log_stored_after_the_window_ends_but_dated_inside_it_is_read(tenant):
    """Without the margin, a log dated at T2 - 1 ms and stored at T2 + 136 ms would be missed."""
    logs = edge_logs()
    tenant.add(logs)
    last = next(entry for entry in logs if entry["date"] == "2026-11-01T10:04:59.999Z")
    assert last["log_id"] > synthetic_id(T2)

    got = [i for page in read_window(source_for(tenant), Window(T1, T2), forever) for i in ids_of(page.logs)]

    assert last["log_id"] in got


def test_a_window_resumes_from_a_pages_cursor(tenant):
    """A replay stopped after two pages (Ctrl-C) goes on from the last kept page's cursor: nothing lost, no repeats."""
    logs = edge_logs()
    tenant.add(logs)
    window = Window(T1, T2)

    first_run = read_window(source_for(tenant), window, forever, take=50)
    kept = [next(first_run), next(first_run)]
    got = ids_of(kept[0].logs) + ids_of(kept[1].logs)
    resumed = read_window(source_for(tenant), window, forever, cursor=kept[1].cursor, take=50)
    got += [i for page in resumed for i in ids_of(page.logs)]

    assert got == [entry["log_id"] for entry in sorted(logs, key=lambda e: e["log_id"]) if T1 <= at(entry) < T2]


def test_a_window_reports_entries_without_a_date_and_without_an_id(tenant):
    logs = edge_logs()
    no_date = {**logs[300], "log_id": logs[300]["log_id"][:-1] + "7"}
    del no_date["date"]
    tenant.add(logs)
    no_id = {"type": "s", "date": "2026-11-01T10:01:00.000Z"}
    tenant.add([no_date, no_id], keys=[no_date["log_id"], logs[301]["log_id"] + "~"])

    malformed = [e for page in read_window(source_for(tenant), Window(T1, T2), forever) for e in page.malformed]

    assert len(malformed) == 2


def test_a_window_too_large_for_one_search_is_read_whole_in_search_mode(tenant):
    """Where ids carry no time, a window is searched by date, continuing past the 1,000-result cap."""
    logs = opaque(LogFactory(seed=8, start=START).many(2600))
    tenant.add(logs)
    start, end = at(logs[100]), at(logs[2500])

    got: list[str] = []
    cursors: list[SearchCursor] = []
    for page, cursor in logs_between(source_for(tenant), start, end, forever):
        got += ids_of(page)
        cursors.append(cursor)

    assert got == ids_of(logs[100:2500])
    assert all(int(query.get("page", 0)) <= 9 for _, query, _ in tenant.stats.calls)
    assert cursors[-1].since == at(logs[2499])


def test_a_window_must_end_after_it_starts():
    with pytest.raises(Exception, match="--to must be a date after --from"):
        Window(T2, T1)
