"""The explorer's own view: the worker, its invocations, its crons, the engine's log lines, and
`/local/snapshot`, the one request the page polls for live updates (under `/local/`, where
Miniflare's Local Explorer keeps what has no Cloudflare API counterpart).
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request

from ..cron import next_fire_time
from ..worker import WorkerLoadError
from .endpoints import ApiError, Endpoint, Param, Result, field_of, json_body, query_int, query_str
from .schema import BOOL, INT, NUM, STR, arr, enum, nullable, obj, ref
from .trace import CAPACITY, KINDS, Tracer
from .views import binding_views
from .views.base import BindingView

__all__ = ["LocalView", "fire_cron"]

_SUMMARY = obj(
    {
        "id": INT,
        "kind": enum(*KINDS),
        "label": STR,
        "started": NUM,
        "duration_ms": nullable(NUM),
        "outcome": enum("running", "ok", "exception"),
        "status": nullable(INT),
        "parent": nullable(INT),
        "detail": {"type": "object"},
        "calls": INT,
        "logs": INT,
        "error": nullable(STR),
    }
)
_CALL = obj(
    {
        "binding": STR,
        "method": STR,
        "detail": STR,
        "start_ms": NUM,
        "duration_ms": nullable(NUM),
        "depth": INT,
        "error": nullable(STR),
    }
)
_LOG = obj({"at_ms": NUM, "level": STR, "source": STR, "message": STR})
_FULL = {
    "allOf": [
        ref("InvocationSummary"),
        obj(
            {
                "binding_calls": arr(ref("BindingCall")),
                "log_lines": arr(_LOG),
                "dropped_calls": INT,
                "dropped_logs": INT,
            }
        ),
    ]
}
_TRACING = obj({"enabled": BOOL, "capacity": INT, "idle_seconds": NUM, "kept": INT})
_CRON = obj({"cron": STR, "next": nullable(NUM)})
_WORKER = obj(
    {
        "name": nullable(STR),
        "config": STR,
        "main": STR,
        "compatibility_date": nullable(STR),
        "loaded": BOOL,
        "load_error": nullable(STR),
        "virtual_clock": BOOL,
        "crons": arr(_CRON),
        "bindings": {"type": "object", "additionalProperties": arr({"type": "object"})},
        "sections": arr(obj({"type": STR, "title": STR})),
    }
)
_SCHEDULED = obj({"outcome": enum("ok", "exception"), "error": nullable(STR), "noRetry": BOOL})


async def fire_cron(runtime: Any, cron: str, when: float | None = None) -> dict[str, Any]:
    """Run the worker's `scheduled` handler once for `cron`; `{"outcome", "error", "noRetry"}`.
    A worker that cannot be imported raises `WorkerLoadError`."""
    result = await runtime.scheduled(cron, when)
    return dict(result)


class LocalView(BindingView):
    """Not a binding: the worker itself (`instance` is None)."""

    title = "Worker"
    schemas = {
        "InvocationSummary": _SUMMARY,
        "BindingCall": _CALL,
        "Invocation": _FULL,
    }
    endpoints = (
        Endpoint(
            "GET", "/local/workers", "list_workers", "The worker and its bindings",
            "local-explorer-list-workers",
            description="The worker this server runs: config, load state, crons, and the "
            "resources of every binding type the explorer has a page for.",
            result=arr(_WORKER), errors=(),
        ),
        Endpoint(
            "GET", "/local/snapshot", "snapshot", "Everything that changes, in one poll",
            "local-explorer-snapshot",
            description="What the page polls: tracing state, worker load state, each binding "
            "type's live figures (queue depths and rates), and the invocations newer than "
            "`after` (and those still running).",
            params=(Param("after", {"type": "integer", "minimum": 0}),),
            result=obj(
                {
                    "time": NUM, "tracing": BOOL, "loaded": BOOL, "load_error": nullable(STR),
                    "live": {"type": "object"},
                    "invocations": arr(ref("InvocationSummary")), "last": INT,
                }
            ),
            errors=(400,),
        ),
        Endpoint(
            "GET", "/local/invocations", "list_invocations", "List invocations",
            "local-explorer-list-invocations",
            description="Newest first. Filter by `kind` and `outcome`; `after` gives only "
            "those with a higher id.",
            params=(
                Param("kind", enum(*KINDS)),
                Param("outcome", enum("running", "ok", "exception")),
                Param("after", {"type": "integer", "minimum": 0}),
                Param("limit", {"type": "integer", "minimum": 1, "maximum": CAPACITY}),
            ),
            result=arr(ref("InvocationSummary")),
            result_info=obj({"count": INT, "kept": INT}), errors=(400,),
        ),
        Endpoint(
            "DELETE", "/local/invocations", "clear_invocations", "Forget every invocation",
            "local-explorer-clear-invocations", result=obj({"cleared": INT}), errors=(),
        ),
        Endpoint(
            "GET", "/local/invocations/{invocation_id}", "get_invocation",
            "An invocation with its binding calls and log lines", "local-explorer-get-invocation",
            result=ref("Invocation"),
        ),
        Endpoint(
            "GET", "/local/tracing", "get_tracing", "Whether invocations are recorded",
            "local-explorer-get-tracing", result=_TRACING, errors=(),
        ),
        Endpoint(
            "PUT", "/local/tracing", "set_tracing", "Start or stop recording invocations",
            "local-explorer-set-tracing",
            description="Recording starts when the explorer is first used and stops after "
            "10 idle minutes; stopped by hand, it stays off until started again.",
            body=obj({"enabled": BOOL}), result=_TRACING,
        ),
        Endpoint(
            "POST", "/local/scheduled", "fire_scheduled", "Fire a cron",
            "local-explorer-fire-scheduled",
            description="Runs the worker's `scheduled` handler once, as the cron would.",
            body=obj({"cron": STR, "scheduled_time": NUM}, required=("cron",)),
            result=_SCHEDULED,
        ),
        Endpoint(
            "GET", "/local/logs", "get_logs", "The engine's last log lines",
            "local-explorer-logs",
            params=(Param("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),),
            result=arr(STR), errors=(400,),
        ),
    )  # fmt: skip

    def __init__(self, instance: Any, runtime: Any, tracer: Tracer | None = None) -> None:
        super().__init__(None, runtime)
        self.tracer = tracer if tracer is not None else Tracer()

    def _views(self) -> list[BindingView]:
        mf = self.runtime
        return [v(mf.bindings.get(v.binding_type), mf) for v in binding_views()]

    def _tracing(self) -> dict[str, Any]:
        t = self.tracer
        return {
            "enabled": t.enabled,
            "capacity": t.invocations.maxlen or 0,
            "idle_seconds": t.idle,
            "kept": len(t.invocations),
        }

    def _load_error(self) -> str | None:
        error = self.runtime.load_error
        return None if error is None else error.details

    async def list_workers(self, request: Request) -> Any:
        mf = self.runtime
        config = mf.config
        now = mf.clock.now()
        crons = []
        for cron in config.crons:
            try:
                upcoming: float | None = next_fire_time(cron, now)
            except Exception:
                upcoming = None
            crons.append({"cron": cron, "next": upcoming})
        bindings = {}
        sections = []
        for view in self._views():
            items = view.summary()
            if items:
                bindings[view.binding_type] = items
                sections.append({"type": view.binding_type, "title": view.title})
        return [
            {
                "name": config.name,
                "config": str(config.path),
                "main": str(config.main),
                "compatibility_date": config.compatibility_date,
                "loaded": mf.load_error is None and mf.worker is not None,
                "load_error": self._load_error(),
                "virtual_clock": mf.virtual,
                "crons": crons,
                "bindings": bindings,
                "sections": sections,
            }
        ]

    async def snapshot(self, request: Request) -> Any:
        after = query_int(request, "after", 0)
        live = {}
        for view in self._views():
            figures = view.live()
            if figures is not None:
                live[view.binding_type] = figures
        invocations = self.tracer.since(after)
        last = max((i.id for i in self.tracer.invocations), default=after)
        return {
            "time": time.time(),
            "tracing": self.tracer.enabled,
            "loaded": self.runtime.load_error is None,
            "load_error": self._load_error(),
            "live": live,
            "invocations": [i.summary() for i in invocations],
            "last": max(last, after),
        }

    async def list_invocations(self, request: Request) -> Any:
        kind = query_str(request, "kind")
        outcome = query_str(request, "outcome")
        if kind is not None and kind not in KINDS:
            raise ApiError(400, f"kind must be one of {', '.join(KINDS)}")
        if outcome is not None and outcome not in ("running", "ok", "exception"):
            raise ApiError(400, "outcome must be running, ok or exception")
        after = query_int(request, "after", 0)
        limit = query_int(request, "limit", CAPACITY, low=1, high=CAPACITY)
        found = [
            i
            for i in reversed(self.tracer.invocations)
            if i.id > after
            and (kind is None or i.kind == kind)
            and (outcome is None or i.outcome == outcome)
        ][:limit]
        return Result(
            [i.summary() for i in found],
            {"count": len(found), "kept": len(self.tracer.invocations)},
        )

    async def clear_invocations(self, request: Request) -> Any:
        n = len(self.tracer.invocations)
        self.tracer.clear()
        return {"cleared": n}

    async def get_invocation(self, request: Request) -> Any:
        raw = request.path_params["invocation_id"]
        invocation = self.tracer.find(int(raw)) if raw.isdigit() else None
        if invocation is None:
            raise ApiError(404, f"no invocation {raw!r} (kept: the last {CAPACITY})")
        return invocation.full()

    async def get_tracing(self, request: Request) -> Any:
        return self._tracing()

    async def set_tracing(self, request: Request) -> Any:
        enabled = field_of(await json_body(request), "enabled", bool)
        if enabled:
            self.tracer.enable()
        else:
            self.tracer.disable()
        return self._tracing()

    async def fire_scheduled(self, request: Request) -> Any:
        body = await json_body(request)
        cron = field_of(body, "cron", str)
        when = field_of(body, "scheduled_time", (int, float), None)
        try:
            return await fire_cron(self.runtime, cron, None if when is None else when / 1000)
        except WorkerLoadError as exc:
            raise ApiError(500, exc.details) from None

    async def get_logs(self, request: Request) -> Any:
        limit = query_int(request, "limit", 200, low=1, high=1000)
        return self.runtime.logs[-limit:]
