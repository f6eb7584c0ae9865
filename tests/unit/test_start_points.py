"""START_FROM values: what each becomes, and a clear error for anything else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from auth0_webhooks.errors import ConfigError
from auth0_webhooks.log_ids import check_id_shape, id_time, synthetic_id
from auth0_webhooks.start_points import parse_start_from

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "at"),
    [
        ("2026-11-01T00:00:00Z", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T01:00:00+01:00", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T00:00:00.250Z", datetime(2026, 11, 1, 0, 0, 0, 250_000, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("3d", NOW - timedelta(days=3)),
        ("12h", NOW - timedelta(hours=12)),
        ("90m", NOW - timedelta(minutes=90)),
    ],
)
def test_dates_and_durations(raw, at):
    point = parse_start_from(raw, NOW)
    assert (point.kind, point.at) == ("date", at)


def test_now_and_log_ids():
    assert parse_start_from("NOW", NOW).kind == "now"
    log_id = "90020250310142207118000000000000001223372041234567000000"
    assert (parse_start_from(log_id, NOW).kind, parse_start_from(log_id, NOW).text) == ("log_id", log_id)


@pytest.mark.parametrize("raw", ["yesterday at noon", "2026-13-01", "2026-11-01T25:00:00Z", "id with spaces"])
def test_anything_else_is_refused_naming_the_setting_and_what_it_takes(raw):
    with pytest.raises(ConfigError) as raised:
        parse_start_from(raw, NOW)
    assert raised.value.setting == "START_FROM"
    assert "now, a UTC date such as 2026-11-01T00:00:00Z" in str(raised.value)


@pytest.mark.parametrize("raw", ["3w", "2days", "90M"])
def test_a_duration_in_another_unit_is_refused(raw):
    with pytest.raises(ConfigError, match=r"START_FROM must be a duration in d \(days\), h \(hours\) or m"):
        parse_start_from(raw, NOW)


def test_a_date_in_the_future_is_refused():
    with pytest.raises(ConfigError, match="START_FROM must be a date in the past"):
        parse_start_from("2026-12-01", NOW)


def test_a_synthetic_id_sorts_between_the_ids_of_two_milliseconds():
    before = "90020261101000000000" + "9" * 36  # the last id of 00:00:00.000
    inside = "90020261101000000001" + "0" * 35 + "1"  # the first id of 00:00:00.001
    made = synthetic_id(datetime(2026, 11, 1, 0, 0, 0, 1000, tzinfo=UTC))
    assert before < made < inside
    assert id_time(made) == datetime(2026, 11, 1, 0, 0, 0, 1000, tzinfo=UTC)


def test_the_id_shape_check_allows_the_storage_delay_but_not_more():
    def entry(delay: float) -> dict:
        date = datetime(2026, 11, 1, tzinfo=UTC)
        return {"log_id": synthetic_id(date + timedelta(seconds=delay))[:-1] + "1", "date": "2026-11-01T00:00:00Z"}

    assert check_id_shape([entry(0.137), entry(9)]).carries_time
    assert not check_id_shape([entry(0.137), entry(11)]).carries_time
    assert not check_id_shape([{"log_id": "90020261101000000000", "date": "garbage"}]).carries_time
