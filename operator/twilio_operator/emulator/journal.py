"""The request log behind GET /_emulator/requests. Never holds credentials or bodies."""

from __future__ import annotations

import collections
import itertools
from typing import Any

MAX_ENTRIES = 200_000


class Journal:
    def __init__(self) -> None:
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_ENTRIES)
        self._seq = itertools.count(1)

    def record(self, entry: dict[str, Any]) -> None:
        entry["seq"] = next(self._seq)
        self._entries.append(entry)

    def since(self, seq: int) -> list[dict[str, Any]]:
        return [e for e in self._entries if e["seq"] > seq]

    def clear(self) -> None:
        self._entries.clear()
