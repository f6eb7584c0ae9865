"""Route matching: every given condition must hold; unknown types pass category and level."""

from __future__ import annotations

from typing import Any

from auth0_webhooks.routes import Match
from auth0_webhooks.routes.match import CATEGORIES, log_categories, matcher

LOGS: list[dict[str, Any]] = [
    {"log_id": "1", "type": "s", "client_id": "app-a", "connection": "Username-Password-Authentication"},
    {"log_id": "2", "type": "f", "client_id": "app-b", "connection_id": "con_123"},
    {"log_id": "3", "type": "limit_wc", "client_id": "app-a"},
    {"log_id": "4", "type": "pwd_leak"},
    {"log_id": "5", "type": "sapi", "details": {"request": {"path": "/api/v2/users/auth0|1"}}},
    {"log_id": "6", "type": "sapi", "details": {"request": {"path": "/api/v2/clients/abc"}}},
    {"log_id": "7", "type": "mgmt_api_read"},
    {"log_id": "8", "type": "brand_new_type", "client_id": "app-a"},
]


def taken(**conditions: Any) -> list[str]:
    keep = matcher(Match(**conditions))
    return [log["log_id"] for log in LOGS if keep(log)]


def test_an_empty_match_takes_every_log():
    assert taken() == ["1", "2", "3", "4", "5", "6", "7", "8"]


def test_types_and_exclude_types():
    assert taken(types=frozenset({"s", "f"})) == ["1", "2"]
    assert taken(exclude_types=frozenset({"sapi", "brand_new_type"})) == ["1", "2", "3", "4", "7"]


def test_categories_use_the_log_streams_names_and_keep_unknown_types():
    assert taken(categories=frozenset({"management.success"})) == ["5", "6", "7", "8"]
    assert taken(categories=frozenset({"auth.login.fail"})) == ["2", "8"]


def test_min_level_keeps_unknown_types():
    assert taken(min_level=3) == ["2", "3", "4", "8"]


def test_an_unknown_type_is_left_out_when_types_are_named_without_it():
    assert taken(types=frozenset({"limit_wc"}), min_level=0) == ["3"]


def test_api_endpoints_narrow_management_api_logs_only():
    assert taken(api_endpoints=("users",), types=frozenset({"sapi", "s"})) == ["1", "5"]


def test_client_ids_and_connections_by_name_or_id():
    assert taken(client_ids=frozenset({"app-a"})) == ["1", "3", "8"]
    assert taken(connections=frozenset({"Username-Password-Authentication", "con_123"})) == ["1", "2"]


def test_all_conditions_must_hold():
    assert taken(client_ids=frozenset({"app-a"}), min_level=4) == ["3", "8"]
    assert taken(client_ids=frozenset({"app-a"}), min_level=4, exclude_types=frozenset({"brand_new_type"})) == ["3"]


def test_every_category_in_the_type_table_is_a_known_log_streams_category():
    assert set(log_categories().values()) <= CATEGORIES
    assert log_categories()["limit_wc"] == "system.notification"


def test_a_known_type_without_a_category_is_left_out_by_a_category_condition():
    keep = matcher(Match(categories=frozenset({"management.fail"})))
    assert "fapi" not in log_categories()
    assert not keep({"log_id": "9", "type": "fapi"})
