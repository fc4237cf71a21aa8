"""The section a failed test's report gets: each queue's counters and the emulator's log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..runtime import Miniflare

__all__ = ["DENIED", "USED", "Used", "binding_sections", "describe"]

_REPORT_LOG_LINES = 40
_STATS_COLUMNS = ("pending", "delayed", "in_flight", "acked", "retried", "dead_lettered", "dropped")


@dataclass
class Used:
    """The runtime a test used, kept in `item.stash` for the failure report."""

    mf: Miniflare
    started_at: float


USED = pytest.StashKey[Used]()
#: URLs of outbound requests a test with `outbound="deny"` tried to send.
DENIED = pytest.StashKey[list[str]]()


def binding_sections(used: Used) -> list[tuple[str, str]]:
    """Sections bindings add to the report (`failure_report()`: the Workers AI calls, ...)."""
    sections = []
    for name, instance in used.mf.bindings.items():
        report = getattr(instance, "failure_report", None)
        lines = report() if report is not None else None
        if lines:
            sections.append((f"pyflare: {name}", "\n".join(lines)))
    return sections


def describe(used: Used) -> str:
    """Queue stats and the last emulator log lines, for the report of a failed test."""
    mf = used.mf
    lines: list[str] = []
    elapsed = mf.clock.now() - used.started_at
    stats = {name: dict(s) for name, s in mf.queues.stats().items()}
    if stats:
        width = max(len("queue"), *(len(name) for name in stats))
        header = "  ".join([f"{'queue':<{width}}", *(f"{c:>{len(c)}}" for c in _STATS_COLUMNS)])
        lines.append(f"queues (virtual clock +{elapsed:g}s since start):")
        lines.append("  " + header)
        for name, s in stats.items():
            cells = [f"{name:<{width}}", *(f"{s.get(c, 0):>{len(c)}}" for c in _STATS_COLUMNS)]
            lines.append("  " + "  ".join(cells))
    else:
        lines.append(f"no queues (virtual clock +{elapsed:g}s since start)")
    logs = mf.logs
    shown = logs[-_REPORT_LOG_LINES:]
    if shown:
        lines.append("")
        of = f" of {len(logs)}" if len(shown) < len(logs) else ""
        lines.append(f"last {len(shown)}{of} emulator log lines:")
        lines.extend(f"  {line}" for line in shown)
    else:
        lines.append("the emulator logged nothing")
    return "\n".join(lines)
