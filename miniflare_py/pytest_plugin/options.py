"""`PyflareOptions`: what a test's runtime is built from (marker over ini options over defaults)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

__all__ = ["MARKER_HELP", "PyflareOptions"]

_MARKER_KEYS = frozenset({"config", "env", "vars", "migrations", "clock", "outbound"})
_CLOCKS = ("virtual", "real")
_OUTBOUND = ("allow", "deny")

MARKER_HELP = (
    "pyflare(config=None, env=None, vars=None, migrations=True, clock='virtual', "
    "outbound='allow'): options for the pyflare fixtures: the wrangler config (relative to the "
    "rootdir), an [env.NAME] section, [vars] overrides, whether to apply D1 migrations, the "
    "clock ('real' for tests that wait in real time), and whether outbound HTTP that no respx "
    "route mocks may reach the network ('deny' fails the test)"
)


@dataclass(frozen=True)
class PyflareOptions:
    """What a test's runtime is built from: marker options over ini options over defaults."""

    config: Path
    env: str | None = None
    vars: Mapping[str, Any] = field(default_factory=dict)
    migrations: bool = True
    clock: Literal["virtual", "real"] = "virtual"
    outbound: Literal["allow", "deny"] = "allow"

    @property
    def config_key(self) -> tuple[str, str | None, str]:
        """What the parsed config depends on: the file, the env section and the vars."""
        return (str(self.config), self.env, json.dumps(self.vars, sort_keys=True, default=repr))

    @classmethod
    def for_request(cls, request: pytest.FixtureRequest) -> PyflareOptions:
        """Merge the `pyflare` markers on the test (closest wins) with the ini options."""
        options: dict[str, Any] = {}
        merged_vars: dict[str, Any] = {}
        for mark in reversed(list(request.node.iter_markers("pyflare"))):
            if len(mark.args) > 1:
                pytest.fail(
                    "@pytest.mark.pyflare takes at most one positional argument (config)",
                    pytrace=False,
                )
            if mark.args:
                options["config"] = mark.args[0]
            unknown = set(mark.kwargs) - _MARKER_KEYS
            if unknown:
                pytest.fail(
                    f"@pytest.mark.pyflare got unknown option(s) {', '.join(sorted(unknown))}; "
                    f"expected {', '.join(sorted(_MARKER_KEYS))}",
                    pytrace=False,
                )
            options.update(mark.kwargs)
            merged_vars.update(mark.kwargs.get("vars") or {})

        ini = request.config
        root = ini.rootpath
        config = options.get("config") or ini.getini("pyflare_config") or None
        if config is None:
            path = _find_config(root)
        else:
            path = Path(config)
            if not path.is_absolute():
                path = root / path
        # A marker's env wins over the ini's pyflare_env, env=None included (no section).
        env = options["env"] if "env" in options else ini.getini("pyflare_env")
        clock = options.get("clock", "virtual")
        if clock not in _CLOCKS:
            pytest.fail(
                f"@pytest.mark.pyflare(clock={clock!r}): expected 'virtual' or 'real'",
                pytrace=False,
            )
        outbound = options.get("outbound", "allow")
        if outbound not in _OUTBOUND:
            pytest.fail(
                f"@pytest.mark.pyflare(outbound={outbound!r}): expected 'allow' or 'deny'",
                pytrace=False,
            )
        return cls(
            config=path,
            env=env or None,
            vars=merged_vars,
            migrations=bool(options.get("migrations", True)),
            clock=clock,
            outbound=outbound,
        )


def _find_config(root: Path) -> Path:
    """`wrangler.toml`, `wrangler.jsonc` or `wrangler.json` in the rootdir, else in the nearest
    folder above it, as wrangler looks for one (`cd tests && pytest` makes `tests` the rootdir
    of a project with no pytest config file)."""
    from ..config import ConfigError, find_config

    error = None
    for folder in (root, *root.parents):
        try:
            return find_config(folder)
        except ConfigError as exc:
            error = error or exc
    # Outside the `except` block, so the report shows one message, not a chain of exceptions.
    pytest.fail(
        f"pyflare: {error} or a folder above it; name one with @pytest.mark.pyflare(config=...) "
        "or the pyflare_config ini option",
        pytrace=False,
    )
