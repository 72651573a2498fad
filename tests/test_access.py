"""Keys, rate limits and server-kept sessions (pure logic, a fake clock)."""

from __future__ import annotations

import pytest

from assistant.errors import ConfigError
from assistant.models import Message
from assistant.serve.access import (
    FailedAuth,
    Keys,
    RateLimiter,
    Sessions,
    StaffTokens,
    bounded,
    load_keys,
    parse_keys,
    session_key,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


APP = "abcdefgh12345678"


def test_keys_are_read_by_name_or_numbered_and_short_ones_refused() -> None:
    assert parse_keys(f"app:{APP}, ijklmnop34567890\n# comment\nweb:qrstuvwx56789012") == {
        "app": APP,
        "key-2": "ijklmnop34567890",
        "web": "qrstuvwx56789012",
    }
    with pytest.raises(ConfigError):
        parse_keys("short:abcdefgh12")  # 10 characters: guessable


@pytest.mark.parametrize("admin", ["1", "admin", "short-admin-key"])
def test_a_short_admin_key_is_refused_at_start_up(admin: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_keys(None, None, admin)
    assert "ASSISTANT_ADMIN_KEY" in refused.value.en and "ASSISTANT_ADMIN_KEY" in refused.value.zh


def test_a_presented_key_names_its_client_and_only_the_admin_key_is_admin() -> None:
    keys = Keys({"app": APP}, admin="admin-key-99-long")
    assert keys.client(APP) == "app"
    assert keys.client(APP[:-1] + "9") is None and keys.client(None) is None
    assert keys.is_admin("admin-key-99-long") and not keys.is_admin(APP)
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
    history = [
        Message("user", "q1"),
        Message("assistant", "a1"),
        Message("user", "q2"),
        Message("assistant", "a2"),
    ]
    assert bounded(history, 1) == history[2:]
    assert bounded(history, 5) == history and bounded(history, 0) == []


def test_wrong_keys_from_one_address_are_refused_after_the_allowance() -> None:
    clock = Clock()
    failures = FailedAuth(per_minute=3, clock=clock)
    for _ in range(3):
        assert failures.blocked("198.51.100.7") == 0.0
        failures.failed("198.51.100.7")
    assert failures.blocked("198.51.100.7") == pytest.approx(20.0)
    assert failures.blocked("203.0.113.9") == 0.0  # another address is not held up
    clock.now += 20.0
    assert failures.blocked("198.51.100.7") == 0.0


def test_a_session_is_filed_under_its_key_and_user() -> None:
    assert session_key("app", "openid-1", "s") != session_key("other", "openid-1", "s")
    assert session_key("app", "openid-1", "s") != session_key("app", "openid-2", "s")
    assert session_key("app", None, "s") == session_key("app", None, "s")


def test_staff_tokens_hold_only_for_their_admin_key_and_their_time() -> None:
    clock = Clock()
    tokens = StaffTokens("admin-key-99-long", ttl=60, clock=clock)
    token = tokens.issue()
    assert tokens.valid(token)
    assert not StaffTokens("another-admin-key-long", clock=clock).valid(token)
    assert not tokens.valid(token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert not tokens.valid(None) and not tokens.valid("1.2") and not StaffTokens(None).valid(token)
    clock.now += 61
    assert not tokens.valid(token)


def test_a_key_check_accepts_counts_a_wrong_key_and_then_refuses_unread() -> None:
    clock = Clock()
    failures = FailedAuth(per_minute=1, clock=clock)
    assert failures.verdict("198.51.100.7", lambda: True) is None
    assert failures.verdict("198.51.100.7", lambda: False) == 0.0
    read: list[bool] = []
    wait = failures.verdict("198.51.100.7", lambda: read.append(True) or True)
    assert wait == pytest.approx(60.0) and read == []  # the right key is not even compared
