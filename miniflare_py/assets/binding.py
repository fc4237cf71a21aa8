"""Static assets as a binding type: `[assets]` -> `env.ASSETS` (with `binding`), `mf.assets`,
and the asset server `pyflare dev` consults before the worker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..bindings.base import BindingHost, BindingInstance, BindingType
from ..config_base import ConfigError
from .config import AssetsConfig, parse_assets

if TYPE_CHECKING:
    # The asset server (its manifest, pathspec) is imported when a config has `[assets]`.
    from .responder import AssetServer

__all__ = ["AssetsBinding", "StaticAssets"]


class StaticAssets(BindingInstance):
    """The assets of one worker (or none, when the config has no `[assets]`)."""

    def __init__(self, server: AssetServer | None) -> None:
        self.server = server

    def env_values(self) -> Mapping[str, Any]:
        if self.server is None or self.server.config.binding is None:
            return {}
        from .fetcher import AssetsFetcher

        return {self.server.config.binding: AssetsFetcher(self.server)}

    def handle(self) -> AssetServer | None:
        return self.server

    def answer_first(self, request: Any) -> Any:
        """The asset for `mf.fetch()`, with the same routing `pyflare dev` applies."""
        if self.server is None:
            return None
        parts = urlsplit(str(request.url))
        path = parts.path or "/"
        headers = request.headers

        def header(name: str) -> str | None:
            value = headers.get(name)
            return None if value is None else str(value)

        if not self.server.goes_to_assets(str(request.method), path, header):
            return None
        from .fetcher import to_response

        return to_response(self.server.respond(str(request.method), path, parts.query, header))


class AssetsBinding(BindingType):
    name = "assets"
    config_keys = ("assets",)
    runtime_attribute = "assets"
    exports = (AssetsConfig,)

    def empty(self) -> None:
        return None

    def parse(self, reader: Any, section: Mapping[str, Any], where: str) -> AssetsConfig | None:
        return parse_assets(reader, section, where)

    def choose(self, top: Any, own: Any | None) -> Any:
        # As in wrangler, an [env.NAME] section inherits [assets] unless it has its own.
        return top if own is None else own

    def binding_names(self, parsed: AssetsConfig | None) -> list[tuple[str, str]]:
        if parsed is None or parsed.binding is None:
            return []
        return [("assets.binding", parsed.binding)]

    def open(
        self, host: BindingHost, parsed: AssetsConfig | None, previous: BindingInstance | None
    ) -> StaticAssets:
        if parsed is None:
            return StaticAssets(None)
        from .manifest import AssetsError
        from .responder import AssetServer

        config = host.config
        try:
            server = AssetServer(
                parsed, config.compatibility_date, tuple(config.compatibility_flags or ())
            )
        except AssetsError as exc:
            raise ConfigError(f"{config.path.name}: assets.directory: {exc}") from None
        return StaticAssets(server)
