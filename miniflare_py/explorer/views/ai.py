"""Workers AI in the Local Explorer: the binding's log of `env.AI.run` calls (model, inputs in
short, duration, outcome, who answered), kept by the binding whether or not invocations are
traced; while they are, each run is also an invocation of kind "ai" under the handler that
made it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from ..endpoints import ApiError, Endpoint, Param, Result, query_int
from ..schema import BOOL, INT, NUM, STR, arr, enum, nullable, obj
from ..trace import Traced, Tracer
from .base import BindingView

__all__ = ["AiView"]

_CALL = obj(
    {
        "model": STR,
        "inputs": STR,
        "started": NUM,
        "duration_ms": NUM,
        "outcome": enum("running", "ok", "error"),
        "error": nullable(STR),
        "answered_by": STR,
        "stream": BOOL,
    }
)


def _run(tracer: Tracer, ai: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    model = str(args[0]) if args else str(kwargs.get("model", ""))
    return tracer.binding_of(lambda v: v is ai, "AI"), model


class AiView(BindingView):
    title = "Workers AI"
    traced = (Traced("miniflare_py.ai.env_binding:Ai", "run", _run, kind="ai", label="run"),)
    endpoints = (
        Endpoint(
            "GET", "/ai/calls", "list_calls", "Workers AI calls", "local-explorer-ai-calls",
            description="The last `env.AI.run` calls, newest first (the binding keeps 1000).",
            params=(Param("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),),
            result=arr(_CALL),
            result_info=obj({"count": INT, "total": INT, "failed": INT, "backend": STR}),
            errors=(400, 404),
        ),
    )  # fmt: skip

    def summary(self) -> list[dict[str, Any]]:
        config = getattr(self.instance, "config", None)
        if config is None:
            return []
        return [{"id": config.binding, "name": config.binding, "binding": config.binding}]

    async def list_calls(self, request: Request) -> Any:
        if getattr(self.instance, "config", None) is None:
            raise ApiError(404, "this worker has no [ai] binding")
        handle = self.instance.handle()  # type: ignore[union-attr]
        limit = query_int(request, "limit", 200, low=1, high=1000)
        calls = list(handle.calls)[-limit:][::-1]
        return Result(
            [
                {
                    "model": c.model,
                    "inputs": c.summary(),
                    "started": c.started,
                    "duration_ms": round(c.duration * 1000, 3),
                    "outcome": c.outcome,
                    "error": c.error,
                    "answered_by": c.answered_by,
                    "stream": c.stream,
                }
                for c in calls
            ],
            {
                "count": len(calls),
                "total": handle.count,
                "failed": handle.failed,
                "backend": handle.backend,
            },
        )
