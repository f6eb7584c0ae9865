import json
from datetime import UTC, datetime

import pytest
from auth0_webhooks.signing import WebhookSigner
from auth0_webhooks.webhook import MAX_RETRY_DELAY_SECONDS, Backoff, Outcome, retry_after
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_our_signature_verifies_with_the_standard_webhooks_library():
    body = json.dumps([{"log_id": "900123", "type": "s"}]).encode()
    headers = WebhookSigner(SECRET).headers("900123", body)
    assert Webhook(SECRET).verify(body, headers) == [{"log_id": "900123", "type": "s"}]
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body + b" ", headers)


@pytest.mark.parametrize("secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not*base64", "whsec_c2hvcnQ="])
def test_bad_secrets_are_refused(secret):
    with pytest.raises(ValueError):
        WebhookSigner(secret)


def test_backoff_grows_caps_and_respects_retry_after():
    backoff = Backoff(base=30, factor=2, cap=900)
    assert [backoff.delay(n, None, 1.0) for n in range(1, 8)] == [30, 60, 120, 240, 480, 900, 900]
    assert backoff.delay(1, None, 0.5) == 15
    assert backoff.delay(1, 3600.0, 0.5) == 3600
    # SQS hides a message at most 12 h from its receipt: the cap leaves room for the time since then
    assert backoff.delay(1, 10**9, 1.0) == MAX_RETRY_DELAY_SECONDS < 43_200
    assert backoff.delay(1, float("inf"), 1.0) == MAX_RETRY_DELAY_SECONDS  # was OverflowError
    assert backoff.delay(10_000, None, 1.0) == 900  # a huge attempt count is the cap, not an overflow


def test_status_classes():
    assert [Outcome.of_status(s).ok for s in (200, 201, 204, 299)] == [True] * 4
    assert [Outcome.of_status(s).retryable for s in (408, 425, 429, 500, 503, 599)] == [True] * 6
    assert [Outcome.of_status(s).retryable or Outcome.of_status(s).ok for s in (301, 302, 400, 401, 404, 410)] == [
        False
    ] * 6


def test_retry_after_reads_seconds_and_dates():
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()
    assert retry_after({"Retry-After": "120"}) == 120
    assert retry_after({"Retry-After": "Wed, 25 Nov 2026 12:02:00 GMT"}, lambda: now) == 120
    assert retry_after({"Retry-After": "soon"}) is None
    assert retry_after({}) is None
