"""The game day's SLO error budget: how much breach the agent may cause before it stops injecting."""

from __future__ import annotations

from agent.errors import SafetyError


class ErrorBudget:
    """Seconds of SLO breach a game day may burn; ``exhausted`` masks every action.

    Breach time is what ``ExperimentResult.budget_burned_s`` sums: seconds in breach per broken bound.
    The budget is exhausted once something was burned and the total reached the limit, so a budget of
    0 allows exactly one breaching experiment, then stops. Create a new one per game day.
    """

    def __init__(self, minutes: float) -> None:
        if minutes < 0:
            raise SafetyError(f"an error budget must be >= 0 minutes, got {minutes}")
        self.limit_s = minutes * 60.0
        self.burned_s = 0.0

    def consume(self, seconds: float) -> None:
        if seconds < 0:
            raise SafetyError(f"breach time must be >= 0 seconds, got {seconds}")
        self.burned_s += seconds

    @property
    def remaining_s(self) -> float:
        return max(0.0, self.limit_s - self.burned_s)

    @property
    def exhausted(self) -> bool:
        return self.burned_s > 0 and self.burned_s >= self.limit_s

    def describe(self) -> str:
        return f"{self.burned_s / 60:g} of {self.limit_s / 60:g} violation-minutes burned"
