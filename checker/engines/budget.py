"""Budgets that bound a run.  When one runs out the verdict is ``unknown``, never ``holds``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Budget:
    """Limits for one (spec, mode) check; None means no limit."""

    max_states: int | None = 2_000_000
    timeout: float | None = None
    max_memory_mb: int | None = None

    def describe_states(self) -> str:
        return f"--max-states {self.max_states}"


class BudgetExceeded(Exception):
    """Internal to engines: a budget ran out; carries which one, for the verdict's reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
