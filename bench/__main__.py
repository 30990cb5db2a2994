"""``python -m bench``: run every scenario, write JSON and docs/benchmarks.md.

``--quick`` runs each scenario at a tiny size (a harness check, not a
measurement) and leaves docs/benchmarks.md alone unless ``--docs`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import sys
from pathlib import Path

from bench.procs import REPO
from bench.runner import run_bench


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes; a harness check")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only these scenarios")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results", help="JSON dir")
    parser.add_argument("--docs", type=Path, default=None, help="Markdown page to update")
    parser.add_argument("--no-docs", action="store_true", help="do not update any Markdown page")
    args = parser.parse_args(argv)
    docs: Path | None = args.docs
    if docs is None and not args.quick and not args.no_docs:
        docs = REPO / "docs" / "benchmarks.md"
    if args.no_docs:
        docs = None
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("bench").setLevel(logging.INFO)
    command = "python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:])
    names = [n for group in args.only or [] for n in group.split(",")] or None
    data = asyncio.run(
        run_bench(
            names=names, quick=args.quick, out_dir=args.out, docs=docs, command=command.strip()
        )
    )
    for s in data["scenarios"]:
        if s.get("skipped"):
            print(f"{s['name']}: skipped: {s['skipped']}")
            continue
        print(f"{s['name']}: {'ok' if s['ok'] else 'FAILED'} ({s['seconds']} s)")
        for m in s["metrics"]:
            ratio = f"  ratio {m['ratio']:.2f}" if m["ratio"] is not None else ""
            base = f"  {m['versus']} {m['baseline']:.3f}" if m["baseline"] is not None else ""
            met = "" if m["met"] is None else ("  [met]" if m["met"] else "  [MISSED]")
            print(f"  {m['name']}: {m['value']:.3f} {m['unit']}{base}{ratio}{met}")
    return 0 if all(s["ok"] for s in data["scenarios"]) else 1


if __name__ == "__main__":
    sys.exit(main())
