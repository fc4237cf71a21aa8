"""`mf.ai`: what a test (or a tool) can see and steer of the Workers AI binding.

```python
mf.ai.respond("@cf/meta/llama-3.1-8b-instruct", "Paris")     # every call of that model
mf.ai.respond("@cf/baai/bge-small-en-v1.5", {...}, times=1)   # the next call only
mf.ai.fail_next_runs(3)                                       # 3040 "out of capacity" x 3
mf.ai.fail_next_runs(1, error=5007)                           # a documented error by code
mf.ai.latency = 0.5                                           # seconds on the runtime clock
mf.ai.calls[-1].model, mf.ai.calls[-1].inputs, mf.ai.calls[-1].outcome
```
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .catalogue import ModelInfo, all_models, lookup
from .errors import DOCUMENTED_ERRORS, InferenceUpstreamError, upstream_error

__all__ = ["AiCall", "AiHandle"]

_KEPT_CALLS = 1000
_KEPT_OUTPUTS = 100  # answers can be large (embeddings): older calls forget theirs
_REPORTED_CALLS = 20


@dataclass
class AiCall:
    """One `env.AI.run` call: what was asked, when (runtime clock), how long it took and how
    it ended ("ok" or "error", with the error's text)."""

    model: str
    inputs: Any
    options: Mapping[str, Any]
    started: float
    duration: float = 0.0
    outcome: str = "running"
    error: str | None = None
    #: Who answered: "local", "openai", "respond" (a canned answer) or "" (it failed first).
    answered_by: str = ""
    stream: bool = False
    #: What the worker got back (a stream or an image: the stream object); only the last 100
    #: calls keep it.
    output: Any = None

    def summary(self) -> str:
        """The inputs in one short line, for reports."""
        return _summarise(self.inputs)


def _summarise(inputs: Any, limit: int = 80) -> str:
    if isinstance(inputs, Mapping):
        parts = []
        for key, value in inputs.items():
            if isinstance(value, str):
                shown = repr(value if len(value) <= 40 else value[:37] + "...")
            elif isinstance(value, list | tuple) and len(value) > 4:
                shown = f"[{len(value)} items]"
            elif isinstance(value, bytes | bytearray | memoryview):
                shown = f"<{len(value)} bytes>"
            else:
                shown = repr(value)
            parts.append(f"{key}={shown}")
        text = ", ".join(parts)
    else:
        text = repr(inputs)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class _Canned:
    output: Any
    remaining: int | None  # None: every call


@dataclass
class _Failure:
    error: BaseException | Callable[[], BaseException]
    model: str | None


@dataclass
class AiHandle:
    """The binding's test controls and its log of calls (`mf.ai`)."""

    #: The last calls, oldest first (at most 1000 are kept; `count` says how many there were).
    calls: deque[AiCall] = field(default_factory=lambda: deque(maxlen=_KEPT_CALLS))
    count: int = 0
    failed: int = 0
    #: Which backend answers: "local" or "openai" (set by the binding).
    backend: str = "local"
    _latency: dict[str | None, float] = field(default_factory=dict)
    _failures: deque[_Failure] = field(default_factory=deque)
    #: Canned answers by model: an every-run answer, with `times`-limited ones stacked on top.
    _canned: dict[str, list[_Canned]] = field(default_factory=dict)
    _declared: dict[str, ModelInfo] = field(default_factory=dict)

    # -- steering -------------------------------------------------------------------------------

    def fail_next_runs(self, n: int = 1, error: Any = None, *, model: str | None = None) -> None:
        """Make the next `n` runs (of `model`, or of any model) raise `error`: an exception
        (instance or class), a documented internal code (3040, 5007 ...), or a message.
        By default, Cloudflare's "out of capacity" error (`3040`)."""
        if n < 0:
            raise ValueError(f"fail_next_runs(n={n}): n must be 0 or more")
        made = _error_maker(error)
        self._failures.extend(_Failure(made, model) for _ in range(n))

    @property
    def latency(self) -> float:
        """Seconds every run takes before it answers (on the runtime clock: virtual in tests,
        where `mf.clock.advance()` or a queue drain lets it pass)."""
        return self._latency.get(None, 0.0)

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.set_latency(seconds)

    def set_latency(self, seconds: float, model: str | None = None) -> None:
        """Set the latency of every model, or of `model` only."""
        if not seconds >= 0:
            raise ValueError(f"latency must be 0 or more seconds, got {seconds!r}")
        self._latency[model] = float(seconds)

    def respond(self, model: str, output: Any, *, times: int | None = None) -> None:
        """Answer `model`'s runs with `output` instead of the backend: every run, or the next
        `times` runs (before an every-run answer given earlier, which then resumes).

        `output` may be a string (a text model's answer text, put in the model's output
        shape), data returned as given, `bytes` (an image), an exception to raise, or a
        function of the inputs returning any of these. Inputs are still checked against the
        model's schema; a model Cloudflare does not list becomes known (its inputs unchecked).
        """
        if times is not None and times < 1:
            raise ValueError(
                f"respond(times={times}): times must be 1 or more (or None: every run)"
            )
        if times is None:
            self._canned[model] = [_Canned(output, None)]
        else:
            self._canned.setdefault(model, []).append(_Canned(output, times))
        if lookup(model) is None and model not in self._declared:
            self._declared[model] = ModelInfo(model, "custom", "custom")

    def reset(self) -> None:
        """Forget canned answers, pending failures, latency and the log of calls."""
        self._failures.clear()
        self._canned.clear()
        self._declared.clear()
        self._latency.clear()
        self.calls.clear()
        self.count = self.failed = 0

    # -- what the binding asks ------------------------------------------------------------------

    def model(self, name: str) -> ModelInfo | None:
        return lookup(name) or self._declared.get(name)

    def models(self) -> list[ModelInfo]:
        """Every model the binding knows (Cloudflare's catalogue and declared ones)."""
        return [*all_models(), *self._declared.values()]

    def delay(self, model: str) -> float:
        return self._latency.get(model, self._latency.get(None, 0.0)) if self._latency else 0.0

    def take_failure(self, model: str) -> BaseException | None:
        for index, failure in enumerate(self._failures):
            if failure.model is None or failure.model == model:
                del self._failures[index]
                made = failure.error
                return made() if callable(made) else made
        return None

    def take_canned(self, model: str) -> tuple[bool, Any]:
        stack = self._canned.get(model)
        if not stack:
            return False, None
        canned = stack[-1]
        if canned.remaining is not None:
            canned.remaining -= 1
            if canned.remaining == 0:
                stack.pop()
        return True, canned.output

    def begin(self, model: str, inputs: Any, options: Mapping[str, Any], now: float) -> AiCall:
        kept = copy.copy(inputs) if isinstance(inputs, dict) else inputs
        call = AiCall(model, kept, dict(options), now)
        calls = self.calls
        if len(calls) >= _KEPT_OUTPUTS:
            calls[-_KEPT_OUTPUTS].output = None
        calls.append(call)
        self.count += 1
        return call

    # -- reports --------------------------------------------------------------------------------

    def report_lines(self, since: float | None = None) -> list[str]:
        """The last calls, one line each, for a failed test's report."""
        calls = list(self.calls)[-_REPORTED_CALLS:]
        if not calls:
            return []
        base = calls[0].started if since is None else since
        shown = f"last {len(calls)} of {self.count}" if len(calls) < self.count else f"{self.count}"
        lines = [f"Workers AI calls ({shown}; {self.failed} failed; backend {self.backend}):"]
        for call in calls:
            outcome = call.outcome if call.error is None else f"error: {call.error}"
            by = f" [{call.answered_by}]" if call.answered_by else ""
            lines.append(
                f"  +{call.started - base:.3f}s {call.model} {outcome} "
                f"({call.duration * 1000:.0f}ms){by} {call.summary()}"
            )
        return lines


def _error_maker(error: Any) -> BaseException | Callable[[], BaseException]:
    if error is None:
        return lambda: upstream_error(3040)
    if isinstance(error, bool):
        raise TypeError("error must be an exception, an internal code or a message")
    if isinstance(error, int):
        if error in DOCUMENTED_ERRORS:
            return lambda: upstream_error(error, model="", type="", what="")
        return lambda: InferenceUpstreamError(f"{error}: Unknown error", "AiError", code=error)
    if isinstance(error, str):
        return lambda: InferenceUpstreamError(error, "AiError")
    if isinstance(error, type) and issubclass(error, BaseException):
        return error
    if isinstance(error, BaseException):
        return error
    raise TypeError(f"error must be an exception, an internal code or a message, got {error!r}")
