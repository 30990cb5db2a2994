"""The benchmark harness keeps working: every scenario runs at a tiny size
against the real mock LLM (and the real server subprocess where it uses
one), its correctness checks pass, and the JSON and Markdown come out in
the shape the docs page is built from. No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

from bench.report import BEGIN, END
from bench.runner import run_bench
from bench.scenarios import SCENARIOS


async def test_every_scenario_runs_at_a_tiny_size(tmp_path: Path) -> None:
    docs = tmp_path / "benchmarks.md"
    docs.write_text(
        f"# Benchmarks\n\nhand-written intro\n\n{BEGIN}\nSTALE-RESULTS-BLOCK\n{END}\n\nfindings\n"
    )
    data = await run_bench(quick=True, out_dir=tmp_path / "results", docs=docs, command="test")

    names = [s["name"] for s in data["scenarios"]]
    assert names == [s.name for s in SCENARIOS]
    for scenario in data["scenarios"]:
        # two_replicas is skipped without PostgreSQL and Redis: CI has both,
        # so a skip fails here, with the reason.
        assert scenario["skipped"] is None, (scenario["name"], scenario["skipped"])
        assert scenario["ok"], (scenario["name"], scenario["checks"], scenario["notes"])
        assert scenario["metrics"], scenario["name"]
        for metric in scenario["metrics"]:
            if "on − off" not in metric["name"]:  # a paired difference may be < 0
                assert metric["value"] >= 0, (scenario["name"], metric)
    by_name = {s["name"]: s for s in data["scenarios"]}
    # every scenario but the resource figures is compared with a direct baseline
    for name in ("tool_turn", "tool_turn_http", "concurrency", "concurrency_http", "cancel"):
        assert all(m["baseline"] is not None for m in by_name[name]["metrics"]), name
    streaming = {m["name"]: m for m in by_name["streaming_http"]["metrics"]}
    assert streaming["completed"]["value"] == by_name["streaming_http"]["params"]["sessions"]
    assert streaming["errors"]["value"] == 0
    # the lean relay ran beside Sage under the same load, and beside the HTTP turns
    assert streaming["completed"]["baseline"] == streaming["completed"]["value"]
    assert streaming["CPU per token: server"]["baseline"] > 0
    http_turn = {m["name"]: m for m in by_name["tool_turn_http"]["metrics"]}
    assert http_turn["p50 per turn, vs lean relay"]["baseline"] > 0
    trips = {m["name"]: m for m in by_name["store_trips"]["metrics"]}
    assert trips["round trips to the SQLite thread per turn"]["value"] > 0
    assert trips["over HTTP: round trips to the SQLite thread per turn"]["value"] > 0
    assert "tool really stopped" in " ".join(by_name["cancel"]["checks"])
    # the scale-out rows: both replicas took turns, each side compared with the next
    replicas = {m["name"]: m for m in by_name["two_replicas"]["metrics"]}
    assert by_name["two_replicas"]["checks"]["each replica ran the turns sent to it"]
    for name in ("two replicas vs one replica: p99 per turn", "one replica vs SQLite: throughput"):
        assert replicas[name]["value"] > 0 and replicas[name]["baseline"] > 0, name
    # the event log on and off: its rows ride in the run's own transactions
    # (end_run commits them with the run's end), so it adds none per turn
    log_cost = {m["name"]: m for m in by_name["event_log_cost"]["metrics"]}
    assert by_name["event_log_cost"]["checks"]["log off: no event is stored"]
    transactions = log_cost["store transactions per turn"]
    assert transactions["value"] < transactions["baseline"] + 0.5  # a lease renewal may fall in

    saved = json.loads((tmp_path / "results" / "latest.json").read_text())
    assert [s["name"] for s in saved["scenarios"]] == names
    page = docs.read_text()
    assert "hand-written intro" in page and "findings" in page and "STALE-RESULTS-BLOCK" not in page
    assert "| tool_turn | p50 per turn (ms) |" in page
