"""The safety layer: guardrails as one action mask, the game day's error budget, and the kill switch."""

from agent.safety.budget import ErrorBudget
from agent.safety.guard import DryRunRefusal, SafetyGuard
from agent.safety.killswitch import FileKillSwitch, HaltNotice, KillSwitch, MemoryKillSwitch

__all__ = [
    "DryRunRefusal", "ErrorBudget", "FileKillSwitch", "HaltNotice", "KillSwitch", "MemoryKillSwitch",
    "SafetyGuard",
]
