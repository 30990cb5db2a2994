"""What a scenario is: a name, a title and an async function from the bench
environment to a ``ScenarioResult``. Scenarios are registered in
``bench.scenarios.SCENARIOS``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.env import BenchEnv
from bench.result import ScenarioResult


class BenchError(RuntimeError):
    """The measured work did not do what it should (a wrong answer, a lost event)."""


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    run: Callable[[BenchEnv], Awaitable[ScenarioResult]]
