"""Every benchmark scenario, in the order ``python -m bench`` runs them.

To add one: write ``bench/scenarios/<name>.py`` exposing ``SCENARIO``
(a ``bench.scenario.Scenario`` whose ``run(env)`` returns a
``ScenarioResult`` with a direct baseline measured in the same run, and
sizes chosen with ``env.size(full, quick)``), then list it here.
"""

from __future__ import annotations

from bench.scenario import Scenario
from bench.scenarios import (
    cancel,
    concurrency,
    concurrency_http,
    event_log_cost,
    history,
    llm_call,
    multi_agent,
    sandbox,
    store_trips,
    streaming_http,
    tool_turn,
    tool_turn_http,
    tool_turn_traced,
    two_replicas,
)

SCENARIOS: list[Scenario] = [
    llm_call.SCENARIO,
    tool_turn.SCENARIO,
    tool_turn_http.SCENARIO,
    store_trips.SCENARIO,
    event_log_cost.SCENARIO,
    tool_turn_traced.SCENARIO,
    concurrency.SCENARIO,
    concurrency_http.SCENARIO,
    two_replicas.SCENARIO,
    streaming_http.SCENARIO,
    cancel.SCENARIO,
    history.SCENARIO,
    multi_agent.SCENARIO,
    sandbox.SCENARIO,
]
