"""Summarise a CSV table as Markdown (standard library only)."""

import argparse
import csv
import io
import statistics
import sys
from collections import Counter


def number(value):
    try:
        return float(value.replace(",", "")) if value.strip() else None
    except ValueError:
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", nargs="?", help="CSV file; stdin when omitted")
    parser.add_argument("--delimiter", default=",")
    args = parser.parse_args()
    if args.path:
        with open(args.path, newline="", encoding="utf-8") as handle:
            text = handle.read()
    else:
        text = sys.stdin.read()
    rows = list(csv.reader(io.StringIO(text), delimiter=args.delimiter))
    if not rows:
        print("The CSV is empty.")
        return 1
    header, data = rows[0], rows[1:]
    print(f"**{len(data)} rows, {len(header)} columns**\n")
    print("| column | type | missing | summary |")
    print("|---|---|---|---|")
    for index, name in enumerate(header):
        values = [row[index] if index < len(row) else "" for row in data]
        present = [v for v in values if v.strip()]
        missing = len(values) - len(present)
        numbers = [number(v) for v in present]
        if present and all(n is not None for n in numbers):
            nums = [n for n in numbers if n is not None]
            summary = f"min {min(nums):g}, max {max(nums):g}, mean {statistics.fmean(nums):.4g}"
            kind = "number"
        else:
            common = Counter(present).most_common(3)
            summary = ", ".join(f"{value} ({count})" for value, count in common) or "-"
            kind = "text"
        print(f"| {name} | {kind} | {missing} | {summary} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
