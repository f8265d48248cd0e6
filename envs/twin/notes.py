"""The builder's notes: one line per thing it skipped or assumed, in the order they arose."""

from __future__ import annotations


class Notes:
    def __init__(self) -> None:
        self._lines: list[str] = []

    def add(self, line: str) -> None:
        if line not in self._lines:
            self._lines.append(line)

    def skipped(self, what: str, why: str) -> None:
        self.add(f"skipped {what}: {why}")

    def lines(self) -> tuple[str, ...]:
        return tuple(self._lines)
