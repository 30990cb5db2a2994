"""Render JSON from stdin as a Markdown report (standard library only)."""

import argparse
import json
import sys


def cell(value):
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("|", "\\|").replace("\n", " ")


def table(records):
    columns = []
    for record in records:
        for key in record:
            if key not in columns:
                columns.append(key)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for record in records:
        lines.append("| " + " | ".join(cell(record.get(c, "")) for c in columns) + " |")
    return lines


def render(value, level, out):
    if isinstance(value, list):
        if value and all(isinstance(item, dict) for item in value):
            out.extend(table(value))
        else:
            out.extend(f"- {cell(item)}" for item in value)
        out.append("")
        return
    if not isinstance(value, dict):
        out.extend([cell(value), ""])
        return
    scalars = {k: v for k, v in value.items() if not isinstance(v, (dict, list))}
    for key, item in scalars.items():
        out.append(f"- **{key}**: {cell(item)}")
    if scalars:
        out.append("")
    for key, item in value.items():
        if key in scalars:
            continue
        if level >= 6:
            out.extend([f"- **{key}**: `{cell(item)}`", ""])
            continue
        out.extend([f"{'#' * (level + 1)} {key}", ""])
        render(item, level + 1, out)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--title", default="Report")
    args = parser.parse_args()
    try:
        data = json.load(sys.stdin)
    except json.JSONDecodeError as error:
        print(f"error: stdin is not valid JSON: {error}", file=sys.stderr)
        return 1
    out = [f"# {args.title}", ""]
    render(data, 1, out)
    print("\n".join(out).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
