from auth0_webhooks.alerts import AlertOutbox, SlackAlerts, SlackBudget
from auth0_webhooks.env import Secret
from auth0_webhooks.redaction import redact

from devkit.receivers import payload_fields


def test_redact_masks_secrets_and_cuts_urls_to_their_host():
    text = "POST https://u:p@hooks.example.com:8443/a/b?token=t failed with Bearer xyz"
    assert redact(text, ["Bearer xyz"]) == "POST https://hooks.example.com:8443/… failed with ****"


def test_the_budget_refills_over_time():
    now = [0.0]
    alerts = SlackAlerts(
        Secret("http://127.0.0.1:9/none"), budget=SlackBudget(burst=2, refill_seconds=60), clock=lambda: now[0]
    )
    taken = [alerts._take_token() for _ in range(4)]
    assert taken == [True, True, False, False] and alerts.suppressed == 2
    now[0] = 60.0
    assert alerts._take_token() and not alerts._take_token()


def test_no_url_means_no_post_and_no_error():
    assert SlackAlerts(None).post("title", "#000000", {}) is False


def test_the_next_message_says_how_many_were_held_back(slack):
    now = [0.0]
    alerts = SlackAlerts(
        Secret(f"{slack.url}/services/held-back"), budget=SlackBudget(burst=1, refill_seconds=60), clock=lambda: now[0]
    )
    assert alerts.poller_failed("first", None) is True
    assert [alerts.poller_failed(f"dropped {n}", None) for n in range(3)] == [False, False, False]
    now[0] = 60.0

    assert alerts.poller_failed("after the refill", None) is True

    first, second = (payload_fields(p) for p in slack.payloads)
    assert "Held back" not in first
    assert second["Held back"] == "3 earlier alert(s) not sent (Slack rate limit)"
    assert second["Error"] == "after the refill"


def test_redaction_never_raises_on_a_malformed_url():
    assert redact("HTTP 400 see http://[::1 and https://h:99999/x") == "HTTP 400 see http://(a URL) and https://(a URL)"


def test_the_outbox_sends_off_the_caller_and_holds_back_what_runs_out_of_time(slack):
    from concurrent.futures import ThreadPoolExecutor

    alerts = SlackAlerts(Secret(f"{slack.url}/services/outbox"))
    with ThreadPoolExecutor(1) as executor:
        outbox = AlertOutbox(alerts, executor, budget_seconds=5.0)
        outbox.send(lambda: alerts.poller_failed("one", None))
        assert outbox.flush(5.0) == 1

        late = AlertOutbox(alerts, executor, budget_seconds=0.0)  # no time at all: nothing is posted
        late.send(lambda: alerts.poller_failed("two", None))
        assert late.flush(5.0) == 0
    assert alerts.suppressed == 1 and len(slack.payloads) == 1


def test_an_alert_whose_turn_comes_after_the_budget_is_held_back_with_a_warning(slack, caplog):
    # an earlier post took the whole budget (cut at its deadline): the next one never starts, and says so
    from concurrent.futures import ThreadPoolExecutor

    now = [100.0]
    alerts = SlackAlerts(Secret(f"{slack.url}/services/outbox"))
    with ThreadPoolExecutor(1) as executor:
        outbox = AlertOutbox(alerts, executor, budget_seconds=2.0, clock=lambda: now[0])
        now[0] += 2.0  # the budget is spent before this alert's turn
        outbox.send(lambda: alerts.poller_failed("late", None))
        assert outbox.flush(5.0) == 0
    assert alerts.suppressed == 1 and slack.payloads == []
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == ["Slack alerts not sent in time"]
