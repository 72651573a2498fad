"""Who may call the API and how often, and the conversations it keeps (no I/O but a keys file).

Keys are compared in constant time and must be long enough not to be guessed
(MIN_KEY_LENGTH). Rate limits are token buckets: a client may burst up to its minute's
allowance, then gets one request per (60 / limit) seconds. A key's bucket is its app's whole
budget; each end user the app names has a smaller one of their own (admit). Failed key checks are limited per
client address the same way, so keys cannot be tried at speed. Sessions keep the last turns of a
conversation for a while, so a mini-program may send only the new question; a session belongs
to the key, and the end user, that started it (session_key). Staff who signed in on the page
carry a token signed with the admin key (StaffTokens), which the page's upload route asks for.

The buckets and sessions here live in one process's memory; Buckets and Conversations are
their interfaces, which assistant.serve.state implements in the database that every worker
and replica shares.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from assistant.errors import ConfigError
from assistant.models import Message

MIN_KEY_LENGTH = 16  # characters; a key is a password that faces the internet


def _check_key(name: str, key: str, setting: str) -> None:
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"{setting} 中的密钥 {name!r} 太短（至少 {MIN_KEY_LENGTH} 个字符；"
            '可用 `python -c "import secrets; print(secrets.token_urlsafe(24))"` 生成）。',
            f"Key {name!r} in {setting} is too short ({MIN_KEY_LENGTH} characters at least; "
            '`python -c "import secrets; print(secrets.token_urlsafe(24))"` makes one).',
        )


@dataclass(frozen=True)
class Keys:
    """The API keys by name, and the admin key."""

    by_name: dict[str, str]
    admin: str | None = None

    @property
    def required(self) -> bool:
        return bool(self.by_name)

    def client(self, presented: str | None) -> str | None:
        """The name of the key presented, or None when it matches none (constant time)."""
        if presented is None:
            return None
        found = None
        for name, key in self.by_name.items():
            if hmac.compare_digest(presented.encode(), key.encode()):
                found = name
        return found

    def is_admin(self, presented: str | None) -> bool:
        return (
            self.admin is not None
            and presented is not None
            and hmac.compare_digest(presented.encode(), self.admin.encode())
        )


def parse_keys(text: str) -> dict[str, str]:
    """Keys from "name:key" entries (or bare keys, named key-1, key-2…), by comma or line."""
    out: dict[str, str] = {}
    entries = [e.strip() for line in text.splitlines() for e in line.split(",")]
    for n, entry in enumerate((e for e in entries if e and not e.startswith("#")), 1):
        name, sep, key = entry.partition(":")
        if not sep:
            name, key = f"key-{n}", entry
        _check_key(name.strip(), key.strip(), "ASSISTANT_API_KEYS")
        out[name.strip()] = key.strip()
    return out


def load_keys(api_keys: str | None, api_keys_file: Path | None, admin_key: str | None) -> Keys:
    """Keys from the settings: a comma list, a file, or both."""
    text = api_keys or ""
    if api_keys_file is not None:
        try:
            text += "\n" + api_keys_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"无法读取密钥文件 ASSISTANT_API_KEYS_FILE（{exc.strerror}）。",
                f"Cannot read ASSISTANT_API_KEYS_FILE: {exc.strerror}.",
            ) from None
    admin = (admin_key or "").strip() or None
    if admin is not None:
        _check_key("admin", admin, "ASSISTANT_ADMIN_KEY")
    return Keys(parse_keys(text), admin)


class Buckets(Protocol):
    """Token buckets by name: in this process (RateLimiter) or in the database that every
    replica shares (assistant.serve.state.SharedBuckets)."""

    per_minute: int

    def take(self, client: str) -> float:
        """0 when the request may go ahead (a token is spent); else the seconds to wait."""
        ...

    def peek(self, client: str) -> float:
        """What `take` would answer, without spending anything."""
        ...


def bucket_after(tokens: float, elapsed: float, per_minute: int, take: bool) -> tuple[float, float]:
    """A bucket `elapsed` seconds after it held `tokens`, asked for one request: the tokens
    it holds then, and 0 when the request may go ahead (spending one if `take`) or else the
    seconds to wait. It refills at `per_minute` a minute up to `per_minute`, so a bucket left
    alone for a minute is full whatever it held (and may be forgotten)."""
    rate = per_minute / 60.0
    tokens = min(float(per_minute), tokens + max(0.0, elapsed) * rate)
    if tokens >= 1.0:
        return (tokens - 1.0 if take else tokens), 0.0
    return tokens, (1.0 - tokens) / rate


FULL_AFTER_S = 60.0  # a bucket untouched this long is full again (see bucket_after)


@dataclass
class RateLimiter:
    """Token buckets per client: `per_minute` requests a minute, bursts up to that many."""

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    limit: int = 100_000  # clients tracked at most; a flood of addresses cannot grow it

    def take(self, client: str) -> float:
        """0 when the request may go ahead; otherwise the seconds to wait before retrying."""
        return self._spend(client, take=True)

    def peek(self, client: str) -> float:
        """What `take` would answer, without spending anything."""
        return self._spend(client, take=False)

    def _spend(self, client: str, take: bool) -> float:
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(client, (float(self.per_minute), now))
            tokens, wait = bucket_after(tokens, now - last, self.per_minute, take)
            if wait == 0 and not take:
                return 0.0
            self._buckets[client] = (tokens, now)
            self._bound()
            return wait

    def _bound(self) -> None:
        # Full buckets are the same as no bucket: drop the oldest when there are too many.
        while len(self._buckets) > self.limit:
            del self._buckets[next(iter(self._buckets))]


Limit = Literal["app", "user"]


def user_bucket(client: str, user: str) -> str:
    """The name of an end user's bucket: the key and the user together."""
    return f"{client}\0{user}"


def admit(
    app: Buckets, users: Buckets, client: str, user: str | None
) -> tuple[Limit, float] | None:
    """None when a request of `client` (for its end user `user`, if named) may go ahead, the
    app's token and the user's spent; else which limit refused it and the seconds to wait.

    The user's bucket is looked at before the app's is spent, so one user over their limit
    does not use up the budget all the app's users share.
    """
    if user is not None and (wait := users.peek(user_bucket(client, user))) > 0:
        return "user", wait
    if (wait := app.take(client)) > 0:
        return "app", wait
    if user is not None and (wait := users.take(user_bucket(client, user))) > 0:
        return "user", wait  # another request of this user took the last token meanwhile
    return None


@dataclass
class FailedAuth:
    """Wrong keys per client address: `per_minute` tries a minute, then a wait.

    A client whose allowance is spent is refused before its key is even compared, so guessing
    a key costs a minute per `per_minute` tries, from each address.
    """

    per_minute: int = 10
    clock: Callable[[], float] = time.monotonic
    buckets: Buckets | None = None  # where the counts are kept; None: this process's memory
    _buckets: Buckets = field(init=False)

    def __post_init__(self) -> None:
        self._buckets = self.buckets or RateLimiter(self.per_minute, self.clock)

    def blocked(self, address: str) -> float:
        """The seconds this address must wait before trying a key again (0: it may try)."""
        return self._buckets.peek(address)

    def failed(self, address: str) -> None:
        """Count one wrong key from this address."""
        self._buckets.take(address)

    def verdict(self, address: str, accepted: Callable[[], bool]) -> float | None:
        """None when the key is accepted; otherwise the seconds the address must wait (0 for a
        wrong key, which is counted; more once its allowance is spent, the key unread)."""
        if (wait := self.blocked(address)) > 0:
            return wait
        if accepted():
            return None
        self.failed(address)
        return 0.0


@dataclass(frozen=True)
class StaffTokens:
    """Tokens for staff signed in on the page, signed with the admin key: valid on any worker
    that has the same key, for `ttl` seconds, and worthless once the admin key changes."""

    admin: str | None
    ttl: float = 8 * 3600
    clock: Callable[[], float] = time.time

    def issue(self) -> str:
        expires = str(int(self.clock() + self.ttl))
        nonce = secrets.token_urlsafe(12)
        return f"{expires}.{nonce}.{self._sign(expires, nonce)}"

    def valid(self, token: str | None) -> bool:
        if self.admin is None or not token or token.count(".") != 2:
            return False
        expires, nonce, signature = token.split(".")
        if not expires.isdigit() or int(expires) < self.clock():
            return False
        return hmac.compare_digest(signature, self._sign(expires, nonce))

    def _sign(self, expires: str, nonce: str) -> str:
        message = f"staff-page\0{expires}\0{nonce}".encode()
        return hmac.new((self.admin or "").encode(), message, hashlib.sha256).hexdigest()


STAFF_COOKIE = "pa_staff"


def staff_token(cookie_header: str) -> str | None:
    """The staff sign-in token from a Cookie header, if there is one."""
    for part in cookie_header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == STAFF_COOKIE and value:
            return value
    return None


def session_key(client: str, user: str | None, session_id: str) -> str:
    """Where a server-kept session is filed: under the key, the end user and the id together,
    so naming another key's or another user's session id starts a fresh conversation."""
    return "\0".join((client, user or "", session_id))


class Conversations(Protocol):
    """Server-kept conversations by owner (session_key): in this process (Sessions) or in
    the database every replica shares (assistant.serve.state.SharedSessions)."""

    def history(self, session_id: str) -> list[Message]:
        """The kept turns of a session (empty if unknown or expired); UnavailableError when
        they cannot be read now."""
        ...

    def add(self, session_id: str, question: str, answer: str) -> None:
        """Keep one more exchange (a write that fails is logged and counted, not raised)."""
        ...


@dataclass
class Sessions:
    """Conversations kept by the server: the last `turns` exchanges, forgotten after `ttl` s."""

    turns: int
    ttl: float
    limit: int = 10_000  # sessions kept at most; the least recently used go first
    clock: Callable[[], float] = time.monotonic
    _store: OrderedDict[str, tuple[float, list[Message]]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def history(self, session_id: str) -> list[Message]:
        """The kept turns of a session (empty if unknown or expired)."""
        with self._lock:
            self._expire()
            entry = self._store.get(session_id)
            return list(entry[1]) if entry else []

    def add(self, session_id: str, question: str, answer: str) -> None:
        with self._lock:
            _, turns = self._store.pop(session_id, (0.0, []))
            turns = [*turns, Message("user", question), Message("assistant", answer)]
            self._store[session_id] = (self.clock(), turns[-2 * self.turns :])
            while len(self._store) > self.limit:
                self._store.popitem(last=False)

    def _expire(self) -> None:
        now = self.clock()
        for sid in [s for s, (used, _) in self._store.items() if now - used > self.ttl]:
            del self._store[sid]

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex


def bounded(history: Sequence[Message], turns: int) -> list[Message]:
    """The last `turns` user turns of a history, with the answers between them."""
    users = [i for i, m in enumerate(history) if m.role == "user"]
    if turns <= 0:
        return []
    if len(users) <= turns:
        return list(history)
    return list(history[users[-turns] :])
