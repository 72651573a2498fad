"""Keys, rate limits and server-kept sessions (pure logic, a fake clock)."""

from __future__ import annotations

import pytest

from assistant.access import Keys, RateLimiter, Sessions, bounded, parse_keys
from assistant.errors import ConfigError
from assistant.models import Message


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_keys_are_read_by_name_or_numbered_and_short_ones_refused() -> None:
    assert parse_keys("app:abcdefgh12, ijklmnop34\n# comment\nweb:qrstuvwx56") == {
        "app": "abcdefgh12", "key-2": "ijklmnop34", "web": "qrstuvwx56"}
    with pytest.raises(ConfigError):
        parse_keys("short:abc")


def test_a_presented_key_names_its_client_and_only_the_admin_key_is_admin() -> None:
    keys = Keys({"app": "abcdefgh12"}, admin="admin-key-99")
    assert keys.client("abcdefgh12") == "app"
    assert keys.client("abcdefgh13") is None and keys.client(None) is None
    assert keys.is_admin("admin-key-99") and not keys.is_admin("abcdefgh12")
    assert not Keys({}).required and not Keys({}).is_admin("anything")


def test_the_rate_limit_allows_a_burst_then_one_request_per_interval() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("a")
    assert wait == pytest.approx(20.0)
    assert limiter.take("b") == 0.0  # another client has its own bucket
    clock.now += 20.0
    assert limiter.take("a") == 0.0


def test_sessions_keep_the_last_turns_and_forget_after_their_time() -> None:
    clock = Clock()
    sessions = Sessions(turns=2, ttl=60, clock=clock)
    for n in range(3):
        sessions.add("s", f"问题{n}", f"回答{n}")
    assert [m.content for m in sessions.history("s")] == ["问题1", "回答1", "问题2", "回答2"]
    clock.now += 61
    assert sessions.history("s") == []


def test_bounded_history_keeps_whole_turns() -> None:
    history = [Message("user", "q1"), Message("assistant", "a1"),
               Message("user", "q2"), Message("assistant", "a2")]
    assert bounded(history, 1) == history[2:]
    assert bounded(history, 5) == history and bounded(history, 0) == []
