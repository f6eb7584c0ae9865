from auth0_webhooks.alerts import SlackAlerts, SlackBudget
from auth0_webhooks.env import Secret
from auth0_webhooks.redaction import redact


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
