"""`BindingView`: what the Local Explorer shows and lets you do with one binding type.

A binding type names its view in `BindingType.explorer_view` (`module:Class`); the explorer
loops over the registry, so a new binding type gets a page by adding its view, without an edit
here. A view declares its API operations (`endpoints`, each an `Endpoint` whose `handler` is a
method of the view), the binding methods worth timing while invocations are traced (`traced`),
and what the page's navigation lists (`summary()`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ..endpoints import ApiError, Endpoint
from ..trace import Traced

if TYPE_CHECKING:
    from ...bindings.base import BindingInstance

__all__ = ["BindingView"]


class BindingView:
    """The explorer's view of one binding type's open instance in the running worker."""

    #: The binding type's registry name ("d1"), set by the explorer when it loads the view.
    binding_type: ClassVar[str] = ""
    #: The page's section title and the OpenAPI tag ("D1", "Queues").
    title: ClassVar[str] = ""
    #: The API operations, under `/cdn-cgi/local/explorer/api`.
    endpoints: ClassVar[tuple[Endpoint, ...]] = ()
    #: Path parameters that may hold slashes (KV keys, R2 object keys).
    slash_params: ClassVar[frozenset[str]] = frozenset()
    #: Binding methods to time while tracing invocations.
    traced: ClassVar[tuple[Traced, ...]] = ()
    #: Reusable JSON Schemas this view's endpoints refer to (`#/components/schemas/<name>`).
    schemas: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, instance: BindingInstance | None, runtime: Any) -> None:
        self.instance = instance
        self.runtime = runtime

    def summary(self) -> list[dict[str, Any]]:
        """The resources the page's navigation lists: `[{"id", "name"}]` (empty: no section)."""
        return []

    def live(self) -> Any:
        """Figures the page shows live (polled about once a second), or None."""
        return None

    @staticmethod
    def not_found(what: str, name: str, known: list[str]) -> ApiError:
        shown = ", ".join(known) if known else "none"
        return ApiError(404, f"no {what} {name!r} (known: {shown})")

    def resources(self, attribute: str) -> dict[str, Any]:
        """The open instance's mapping `attribute` (KV namespaces by binding name, R2 buckets
        by name...) as a dict; empty when the worker has no binding of this type."""
        if self.instance is None:
            return {}
        return dict(getattr(self.instance, attribute))

    def find(
        self,
        what: str,
        wanted: str,
        resources: Mapping[str, Any],
        id_of: Callable[[Any], str],
    ) -> Any:
        """The resource whose id or binding name is `wanted` (`resources` by binding name); a
        404 naming the known ids otherwise."""
        for binding, resource in resources.items():
            if wanted in (id_of(resource), binding):
                return resource
        raise self.not_found(what, wanted, [id_of(r) for r in resources.values()])
