"""Profile the hot paths with pyinstrument (not part of `make bench`).

    python -m bench.profile seed [--n 2000] [--memory]   # in-process seed flow, virtual clock
    python -m bench.profile http [--seconds 3]           # `pyflare dev` serving a trivial worker
    python -m bench.profile seed-http [--n 1000]         # `pyflare dev` serving the seed over HTTP

Prints the call tree (`--tree`) or by default the functions with the most self time, and
saves an HTML report under the temp folder.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from .common import ServerProcess, measure_rps, temp_dir

OUT = Path(tempfile.gettempdir()) / "pyflare-profile"


def top_self_time(session: Any, limit: int = 30, by_file: bool = False) -> str:
    """The functions (or files) with the most self time in a pyinstrument `Session`, as text."""
    totals: dict[tuple[str, str], float] = defaultdict(float)
    root = session.root_frame()
    if root is None:
        return "(no samples)"
    total = root.time
    stack = [root]
    while stack:
        frame = stack.pop()
        if frame.is_synthetic:  # pyinstrument's "[self]" leaves, counted below
            continue
        real = [child for child in frame.children if not child.is_synthetic]
        stack.extend(real)
        own = frame.time - sum(child.time for child in real)
        if own > 0:
            place = f"{frame.file_path_short}:{frame.line_no}"
            key = ("", frame.file_path_short or "?") if by_file else (frame.function, place)
            totals[key] += own
    lines = [f"{'self %':>7}  {'self s':>7}  function  (place)"]
    for (function, place), seconds in sorted(totals.items(), key=lambda kv: -kv[1])[:limit]:
        lines.append(f"{100 * seconds / total:6.1f}%  {seconds:7.3f}  {function}  ({place})")
    return "\n".join(lines)


def report(session: Any, name: str, tree: bool) -> None:
    """Print the tree or the top self-time functions and files; save an HTML report."""
    from pyinstrument.renderers import ConsoleRenderer, HTMLRenderer

    OUT.mkdir(parents=True, exist_ok=True)
    html = OUT / f"{name}.html"
    html.write_text(HTMLRenderer().render(session))
    if tree:
        print(ConsoleRenderer(unicode=True, color=False, show_all=False).render(session))
    else:
        print(top_self_time(session))
        print()
        print(top_self_time(session, 15, by_file=True))
    print(f"\nHTML report: {html}")


def profile_seed(n: int, persistent: bool, tree: bool) -> None:
    from pyinstrument import Profiler

    from .seed import _in_process

    profiler = Profiler(interval=0.0002, async_mode="disabled")
    with temp_dir() as tmp:
        profiler.start()
        rate = asyncio.run(_in_process(tmp / "state" if persistent else None, n))
        profiler.stop()
    print(f"{rate:,.0f} tasks/s under the profiler ({'persistent' if persistent else 'memory'})")
    report(profiler.last_session, "seed-in-process", tree)


def _profiled_dev(folder: Path, *args: str) -> tuple[ServerProcess, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    session_file = OUT / f"dev-{folder.name}.pyisession"
    argv = [
        sys.executable,
        "-m",
        "pyinstrument",
        "--interval=0.0002",
        "-r",
        "pyisession",
        "-o",
        str(session_file),
        "-m",
        "miniflare_py",
        "dev",
        "--port",
        "0",
        "--no-reload",
        "--log-level",
        "none",
        *args,
    ]
    return ServerProcess(argv, folder, timeout=60), session_file


def profile_http(seconds: float, tree: bool) -> None:
    from pyinstrument.session import Session

    from .common import CONNECTIONS
    from .fetch_path import write_trivial_worker

    with temp_dir() as tmp:
        folder = write_trivial_worker(tmp / "ok")
        server, session_file = _profiled_dev(folder, "--no-persist")
        with server:
            rps = asyncio.run(measure_rps(server.host, server.port, "/", CONNECTIONS, seconds))
        print(f"{rps:,.0f} req/s under the profiler")
    report(Session.load(str(session_file)), "http-trivial", tree)


def profile_seed_http(n: int, tree: bool) -> None:
    from pyinstrument.session import Session

    from .seed import SeedClient, prepare_seed

    async def drive(server: ServerProcess) -> float:
        client = SeedClient(server.host, server.port)
        try:
            return await client.run(n)
        finally:
            client.close()

    with temp_dir() as tmp:
        folder = prepare_seed(tmp)
        server, session_file = _profiled_dev(folder)
        with server:
            rate = asyncio.run(drive(server))
        print(f"{rate:,.0f} tasks/s under the profiler")
    report(Session.load(str(session_file)), "seed-http", tree)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("what", choices=["seed", "http", "seed-http"])
    parser.add_argument("--n", type=int, default=None, help="tasks")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--memory", action="store_true", help="in-process seed in memory")
    parser.add_argument("--tree", action="store_true", help="print the call tree")
    args = parser.parse_args()
    if args.what == "seed":
        profile_seed(args.n or 2000, not args.memory, args.tree)
    elif args.what == "http":
        profile_http(args.seconds, args.tree)
    else:
        profile_seed_http(args.n or 1000, args.tree)


if __name__ == "__main__":
    main()
