"""pyflare's benchmark suite: `python -m bench` (what `make bench` runs).

Each module (`bench.d1`, `bench.queues`, `bench.seed`, `bench.fetch_path`, `bench.startup`) exposes
`run() -> list[dict]`, one dict per figure, in the row format built by `bench.common.make_row`.
"""
