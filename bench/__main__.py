"""`python -m bench [MODULE...]`: run the benchmarks, print one table, write bench/results.json.

MODULE is any of d1, kv, queues, durable_objects, r2, assets, ai, seed, fetch_path, startup,
testsuite (default: all, in that order). A module that is not there yet is skipped with a note.
`results.json` keeps the rows of modules not run this time, so `python -m bench seed` refreshes
the seed rows only. `--strict` exits 1 if a target is missed or a module fails.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from .common import error_row, machine_info

MODULES = (
    "d1",
    "kv",
    "queues",
    "durable_objects",
    "r2",
    "assets",
    "ai",
    "seed",
    "fetch_path",
    "startup",
    "testsuite",
)
RESULTS = Path(__file__).resolve().with_name("results.json")


def _number(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _ratio(row: dict[str, Any]) -> str:
    ratio = row.get("ratio")
    if ratio is None or math.isnan(ratio):
        return "-"
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x"


def print_table(rows: list[dict[str, Any]], notes: list[str] | None = None) -> None:
    """One rich table of `rows`, row notes as numbered footnotes under it."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="pyflare benchmarks", show_lines=False, header_style="bold")
    table.add_column("group")
    table.add_column("name")
    table.add_column("value", justify="right")
    table.add_column("baseline")
    table.add_column("ratio", justify="right")
    table.add_column("target")
    table.add_column("met", justify="center")
    footnotes: list[str] = []
    previous = None
    for row in rows:
        name = row["name"]
        if row.get("note"):
            footnotes.append(row["note"])
            name += f" [{len(footnotes)}]"
        met = row.get("met")
        mark = "[green]✔[/]" if met is True else "[red]✘[/]" if met is False else "·"
        baseline = row.get("baseline_name") or ""
        if baseline:
            baseline += f": {_number(row['baseline'])} {row['unit']}"
        group = row["group"] if row["group"] != previous else ""
        if group and previous is not None:
            table.add_section()
        previous = row["group"]
        table.add_row(
            group,
            name,
            f"{_number(row['value'])} {row['unit']}",
            baseline,
            _ratio(row),
            row.get("target") or "",
            mark,
        )
    # piped output (make bench | tee) gets a wide table instead of rich's 80 columns
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    console.print(table)
    for number, note in enumerate(footnotes, 1):
        console.print(f"[dim][{number}] {note}[/]", soft_wrap=True)
    for note in notes or []:
        console.print(f"[yellow]{note}[/]", soft_wrap=True)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """`rows` as a Markdown table (for docs/performance.md and the README)."""
    lines = [
        "| group | figure | value | baseline | ratio | target | met |",
        "|---|---|--:|---|--:|---|:-:|",
    ]
    for row in rows:
        met = row.get("met")
        mark = "✔" if met is True else "✘" if met is False else ""
        baseline = row.get("baseline_name") or ""
        if baseline:
            baseline += f": {_number(row['baseline'])} {row['unit']}"
        lines.append(
            f"| {row['group']} | {row['name']} | {_number(row['value'])} {row['unit']} | "
            f"{baseline} | {_ratio(row)} | {row.get('target') or ''} | {mark} |"
        )
    return "\n".join(lines)


def run_module(name: str) -> tuple[list[dict[str, Any]], str | None]:
    """The rows of `bench.<name>`; a skip note if the module does not exist."""
    try:
        module = importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"bench.{name}":
            return [], f"bench.{name} is not there yet: skipped"
        return [error_row(name, f"import bench.{name}", exc)], None
    except Exception as exc:
        return [error_row(name, f"import bench.{name}", exc)], None
    try:
        rows = list(module.run())
    except Exception as exc:
        traceback.print_exc()
        rows = [error_row(name, f"bench.{name}.run()", exc)]
    for row in rows:
        row.setdefault("module", name)
    return rows, None


def _load_previous() -> list[dict[str, Any]]:
    try:
        return list(json.loads(RESULTS.read_text())["rows"])
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=", ".join(MODULES))
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--no-write", action="store_true", help="do not write results.json")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument(
        "--show", action="store_true", help="run nothing: print the table of results.json"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    chosen = [m for m in MODULES if m in args.modules] if args.modules else list(MODULES)
    if args.show:
        shown = [r for r in _load_previous() if r.get("module") in chosen]
        for row in shown:  # results.json stores NaN as null
            for key in ("value", "baseline", "ratio"):
                if row.get(key) is None:
                    row[key] = math.nan
        if args.markdown:
            print(markdown_table(shown))
        else:
            print_table(shown)
        return 0

    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    started = time.perf_counter()
    for name in chosen:
        print(f"running bench.{name} ...", file=sys.stderr, flush=True)
        module_rows, note = run_module(name)
        rows.extend(module_rows)
        if note:
            notes.append(note)
    elapsed = time.perf_counter() - started
    if args.markdown:
        print(markdown_table(rows))
    else:
        print_table(rows, notes)
    missed = [r for r in rows if r.get("met") is False]
    summary = f"{sum(r.get('met') is True for r in rows)} targets met, {len(missed)} missed"
    print(f"{summary} ({elapsed:.0f} s)")

    if not args.no_write:
        kept = [r for r in _load_previous() if r.get("module") not in chosen]
        order = {m: i for i, m in enumerate(MODULES)}
        merged = sorted([*kept, *rows], key=lambda r: order.get(r.get("module", ""), len(order)))
        document = {
            "machine": machine_info(),
            "modules_run": chosen,
            "skipped": notes,
            "rows": [{k: _json_safe(v) for k, v in r.items()} for r in merged],
        }
        RESULTS.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {RESULTS}")
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
