"""A deadline on the whole HTTP exchange and a cap on the answer read, against raw-socket peers."""

from __future__ import annotations

import threading

import pytest
import requests
from auth0_webhooks import clients
from auth0_webhooks.deadline import (
    COMPACT_AFTER_CANCELLED,
    MAX_ANSWER_BYTES,
    Watchdog,
    Watchdogs,
    deadline,
    decode_text,
    read_capped,
    watchdogs,
)
from auth0_webhooks.webhook import WebhookClient

from devkit.peers import MisbehavingPeer


def settled(peer: MisbehavingPeer, connections: int = 1) -> None:
    """Wait until the peer has finished with its connections (an event, not a duration)."""
    done = threading.Event()
    for _ in range(400):
        with peer.lock:
            if len(peer.sent) >= connections:
                return
        done.wait(0.05)
    raise AssertionError("the peer never saw its connection end")


@pytest.mark.parametrize("mode", ["trickle-headers", "trickle-body"])
def test_a_trickling_answer_is_cut_at_the_deadline(mode):
    # 1,000 bytes at one per 50 ms take 50 s; the deadline is 1 s and each read's timeout 5 s
    with MisbehavingPeer(mode, body_bytes=1000, interval=0.05) as peer:
        client = WebhookClient(peer.url, clients.http_session(), timeout=5.0)

        outcome = client.post("msg_1", b"[]", seconds_left=1.0)

        assert not outcome.ok and outcome.retryable
        assert outcome.error == "no complete answer within 1s"
        settled(peer)
        assert peer.closed_early == 1
        assert peer.sent[0] < 1000


def test_the_deadline_covers_a_plain_session_request():
    with MisbehavingPeer("trickle-body", body_bytes=1000, interval=0.05) as peer:
        with deadline(1.0) as watch, pytest.raises(requests.RequestException):
            reply = clients.http_session().get(peer.url, timeout=5.0, stream=True)
            read_capped(reply)
        assert watch.fired


def test_a_huge_answer_is_not_read_into_memory():
    size = 200 * 1024 * 1024
    with MisbehavingPeer("flood", status=400, body_bytes=size) as peer:
        client = WebhookClient(peer.url, clients.http_session(), timeout=5.0)

        outcome = client.post("msg_1", b"[]", seconds_left=10.0)

        assert outcome.status == 400 and not outcome.retryable
        settled(peer)
        assert peer.closed_early == 1 and peer.sent[0] < size // 10  # the connection was dropped, not drained


def test_read_capped_reads_at_most_the_limit():
    with MisbehavingPeer("flood", body_bytes=10 * MAX_ANSWER_BYTES) as peer:
        reply = clients.http_session().get(peer.url, timeout=5.0, stream=True)
        assert len(read_capped(reply)) == MAX_ANSWER_BYTES


def test_a_hanging_peer_is_cut_at_the_deadline():
    with MisbehavingPeer("hang") as peer:
        client = WebhookClient(peer.url, clients.http_session(), timeout=5.0)
        outcome = client.post("msg_1", b"[]", seconds_left=1.0)
        assert outcome.retryable and outcome.error in {"no complete answer within 1s", "timed out after 1s"}


def test_no_time_left_means_no_request():
    with MisbehavingPeer("hang") as peer:
        outcome = WebhookClient(peer.url, clients.http_session(), timeout=5.0).post("msg_1", b"[]", seconds_left=0.5)
        assert (outcome.sent, outcome.retryable) == (False, True) and peer.requests == 0


def test_text_without_a_charset_is_read_as_utf8_not_latin1():
    assert decode_text("Données refusées".encode(), "text/plain") == "Données refusées"
    assert decode_text(b"\xff ok", None) == "\ufffd ok"
    assert decode_text(b"caf\xe9", "text/plain; charset=iso-8859-1") == "café"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_watchdogs_fire_in_deadline_order_and_never_once_cancelled():
    clock = FakeClock()
    dogs = Watchdogs(clock, autostart=False)
    seconds = [7.0, 1.0, 5.0, 3.0, 3.0, 9.0, 2.0]
    watches = [Watchdog(s, dogs) for s in seconds]
    for watch in watches:
        watch.start()
    watches[2].stop()  # 5 s: cancelled before its deadline
    watches[6].stop()  # 2 s: cancelled while at the top

    assert dogs.due(clock.now + 0.5) == []
    assert dogs.due(clock.now + 3.0) == [watches[1], watches[3], watches[4]]  # 1 s, then the two 3 s in order
    assert dogs.due(clock.now + 100.0) == [watches[0], watches[5]]
    assert [watch.fired for watch in watches] == [True, True, False, True, True, True, False]
    assert len(dogs) == 0 and dogs.due(clock.now + 1000.0) == []


def test_many_cancelled_watchdogs_do_not_pile_up():
    clock = FakeClock()
    dogs = Watchdogs(clock, autostart=False)
    keep = Watchdog(60.0, dogs)
    keep.start()
    for _ in range(10 * COMPACT_AFTER_CANCELLED):  # each request's watchdog, stopped when its answer came
        watch = Watchdog(30.0, dogs)
        watch.start()
        watch.stop()
        clock.now += 0.001
    assert len(dogs) == 1
    assert len(dogs._heap) <= 2 * COMPACT_AFTER_CANCELLED  # dead entries are dropped, not kept for 30 s
    assert dogs.due(clock.now + 60.0) == [keep] and keep.fired


def test_a_watchdog_stopped_as_it_is_due_does_not_report_fired():
    clock = FakeClock()
    dogs = Watchdogs(clock, autostart=False)
    watch = Watchdog(1.0, dogs)
    watch.start()
    with dogs._condition:
        due = dogs._pop_due(clock.now + 1.0)  # the thread took it off the heap ...
    watch.stop()  # ... and the exchange ended before it could fire
    for late in due:
        late.fire()
    assert due == [watch] and not watch.fired


def test_one_thread_watches_every_deadline():
    before = {thread.ident for thread in threading.enumerate()}
    with deadline(30.0):
        pass  # the process's watchdog thread exists from the first deadline on
    started = {thread.ident for thread in threading.enumerate()} - before
    with deadline(30.0), deadline(20.0), deadline(10.0):
        assert len(watchdogs()) >= 3
        assert {thread.ident for thread in threading.enumerate()} - before <= started
    assert [thread.name for thread in threading.enumerate()].count("deadline-watchdogs") == 1
