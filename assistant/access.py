"""Who may call the API and how often, and the conversations it keeps (no I/O but a keys file).

Keys are compared in constant time. Rate limits are token buckets per key: a client may burst
up to its minute's allowance, then gets one request per (60 / limit) seconds. Sessions keep the
last turns of a conversation for a while, so a mini-program may send only the new question.
"""

from __future__ import annotations

import hmac
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .models import Message


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
        return (self.admin is not None and presented is not None
                and hmac.compare_digest(presented.encode(), self.admin.encode()))


def parse_keys(text: str) -> dict[str, str]:
    """Keys from "name:key" entries (or bare keys, named key-1, key-2…), by comma or line."""
    out: dict[str, str] = {}
    entries = [e.strip() for line in text.splitlines() for e in line.split(",")]
    for n, entry in enumerate((e for e in entries if e and not e.startswith("#")), 1):
        name, sep, key = entry.partition(":")
        if not sep:
            name, key = f"key-{n}", entry
        if len(key.strip()) < 8:
            raise ConfigError(f"API 密钥 {name.strip()!r} 太短（至少 8 个字符）。",
                              f"API key {name.strip()!r} is too short (8 characters at least).")
        out[name.strip()] = key.strip()
    return out


def load_keys(api_keys: str | None, api_keys_file: Path | None, admin_key: str | None) -> Keys:
    """Keys from the settings: a comma list, a file, or both."""
    text = api_keys or ""
    if api_keys_file is not None:
        try:
            text += "\n" + api_keys_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"无法读取密钥文件 ASSISTANT_API_KEYS_FILE（{exc.strerror}）。",
                              f"Cannot read ASSISTANT_API_KEYS_FILE: {exc.strerror}.") from None
    return Keys(parse_keys(text), admin_key or None)


@dataclass
class RateLimiter:
    """Token buckets per client: `per_minute` requests a minute, bursts up to that many."""

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, client: str) -> float:
        """0 when the request may go ahead; otherwise the seconds to wait before retrying."""
        rate = self.per_minute / 60.0
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / rate


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
            self._store[session_id] = (self.clock(), turns[-2 * self.turns:])
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
    return list(history[users[-turns]:])
