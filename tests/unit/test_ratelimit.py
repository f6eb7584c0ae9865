"""The shared rate limiter against a bucket that behaves as the tenant's, on a clock that moves only when it waits."""

from __future__ import annotations

import pytest
from auth0_webhooks.errors import ConfigError, RateLimited
from auth0_webhooks.ratelimit import INITIAL_RATE, RateLimiter, parse_reserve

from devkit.clock import FakeClock
from devkit.tenant import TokenBucket


def spend(limiter: RateLimiter, bucket: TokenBucket, requests: int) -> int:
    """Send ``requests`` one after another through the limiter; how many the bucket refused."""
    refused = 0
    for _ in range(requests):
        limiter.acquire(lambda: 60.0)
        allowed, headers = bucket.take()
        refused += not allowed
        limiter.observe(headers)
    return refused


def test_the_reserve_is_never_drawn_and_nothing_is_refused():
    clock = FakeClock()
    bucket = TokenBucket(burst=50, rate=16, clock=clock.now)
    limiter = RateLimiter(reserve=0.2, clock=clock.now, sleep=clock.sleep)

    assert spend(limiter, bucket, 500) == 0
    assert bucket.lowest >= 10  # 20% of 50


def test_the_refill_rate_is_learned_from_the_headers():
    clock = FakeClock()
    bucket = TokenBucket(burst=50, rate=16, clock=clock.now)
    limiter = RateLimiter(reserve=0.2, clock=clock.now, sleep=clock.sleep)

    spend(limiter, bucket, 300)

    assert limiter.rate > 14.0  # started at INITIAL_RATE, learned close to 16/s, never above it
    assert limiter.rate <= 16.0 + 0.5
    assert INITIAL_RATE < 14.0


def test_tokens_drawn_by_others_are_noticed_at_the_next_reply():
    clock = FakeClock()
    bucket = TokenBucket(burst=10, rate=1, clock=clock.now)
    limiter = RateLimiter(reserve=0.2, rate=1, clock=clock.now, sleep=clock.sleep)
    spend(limiter, bucket, 1)  # the bucket holds 9 now; the limiter knows
    for _ in range(6):
        bucket.take()  # another app of the tenant takes 6: 3 left

    spend(limiter, bucket, 1)  # reply says 2 left: at the reserve (2 of 10)

    assert limiter.tokens == 2.0
    assert limiter.acquire(lambda: 60.0) == pytest.approx(1.0)  # waits a whole token's refill


def test_a_wait_longer_than_the_time_left_ends_the_run():
    clock = FakeClock()
    limiter = RateLimiter(reserve=0.5, rate=2, clock=clock.now, sleep=clock.sleep)
    limiter.observe({"x-ratelimit-limit": "10", "x-ratelimit-remaining": "5"})

    with pytest.raises(RateLimited) as raised:
        limiter.acquire(lambda: 0.2)
    assert raised.value.reset_in == pytest.approx(0.5)


def test_before_the_first_reply_one_request_at_a_time():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock.now, sleep=clock.sleep)
    assert limiter.acquire(lambda: 60.0) == 0.0
    with pytest.raises(RateLimited):
        limiter.acquire(lambda: 0.5)  # the second waits a second (the initial guess) for the first's reply


@pytest.mark.parametrize("raw", ["-1", "0.95", "abc", "120%"])
def test_a_bad_reserve_names_the_setting(raw):
    with pytest.raises(ConfigError, match="RATE_LIMIT_RESERVE must be a share"):
        parse_reserve(raw)
