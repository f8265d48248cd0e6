"""The safety layer: guardrails as one action mask, the game day's error budget, and the kill switch."""

from agent.safety.budget import ErrorBudget
from agent.safety.guard import SafetyGuard
from agent.safety.killswitch import FileKillSwitch, HaltNotice, KillSwitch, MemoryKillSwitch

__all__ = ["ErrorBudget", "FileKillSwitch", "HaltNotice", "KillSwitch", "MemoryKillSwitch", "SafetyGuard"]
