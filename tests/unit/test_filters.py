from auth0_webhooks.filters import UNKNOWN_TYPE_LEVEL, LogFilter, level_of, log_levels


def test_the_level_table_is_the_reference_one():
    levels = log_levels()
    assert len(levels) > 180
    assert (levels["s"], levels["f"], levels["limit_wc"], levels["sapi"], levels["w"]) == (1, 3, 4, 1, 2)
    assert set(levels.values()) <= {0, 1, 2, 3, 4}


def test_an_unknown_type_counts_as_level_one():
    assert level_of("a_code_auth0_adds_tomorrow") == UNKNOWN_TYPE_LEVEL == 1


def test_min_level_narrows_log_types_and_never_widens_them():
    keep = LogFilter(types=frozenset({"s"}), min_level=1)
    assert not keep({"type": "f"})  # f is level 3, but not listed: the extension's union would keep it
    assert keep({"type": "s"})


def test_endpoints_match_whole_path_segments_and_ignore_case_of_nothing_else():
    keep = LogFilter(endpoints=("users", "client-grants"))

    def sapi(path: str) -> dict:
        return {"type": "sapi", "details": {"request": {"path": path}}}

    assert keep(sapi("/api/v2/users"))
    assert keep(sapi("/api/v2/users/auth0|1/roles"))
    assert keep(sapi("/api/v2/users?q=x"))
    assert keep(sapi("/api/v2/client-grants/cgr_1"))
    assert not keep(sapi("/api/v2/users-by-email"))
    assert not keep(sapi("/api/v2/roles/rol_1/users"))
    assert not keep(sapi("/api/tenants/settings"))
    assert not keep({"type": "fapi"})  # no request at all
    assert keep({"type": "s"})  # not a Management API log: passes


def test_a_log_without_a_type_is_judged_as_an_unknown_type():
    assert LogFilter(min_level=1)({"log_id": "1"})
    assert not LogFilter(types=frozenset({"s"}))({"log_id": "1"})
