"""Which asset a URL path means, per `html_handling` and `not_found_handling`, as Cloudflare's
asset worker decides it.

`html_handling` chooses the canonical URL of HTML files: "auto-trailing-slash" (the default:
`/file` serves file.html, `/folder/` serves folder/index.html), "force-trailing-slash" (every
HTML page ends in /), "drop-trailing-slash" (none does) and "none" (exact file names only).
Requests for a non-canonical URL of an existing page are redirected (307) to the canonical one.
When nothing matches, `not_found_handling` decides: "404-page" serves the nearest 404.html
(searching up the folders) with status 404, "single-page-application" serves /index.html with
status 200, "none" matches nothing (the worker, or a plain 404, answers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .manifest import Asset

__all__ = ["Intent", "resolve"]

Exists = Callable[[str], "Asset | None"]


@dataclass(frozen=True)
class Intent:
    """Serve `asset` with `status`, or redirect to `redirect` (a decoded path)."""

    asset: Asset | None = None
    status: int = 200
    redirect: str | None = None
    not_found: bool = False  # resolved by not_found_handling


def resolve(
    path: str, html_handling: str, not_found_handling: str, exists: Exists
) -> Intent | None:
    """The intent for the decoded URL `path`, or None when no asset answers it."""
    return _Resolver(html_handling, not_found_handling, exists).intent(path, skip_redirects=False)


# What an html_handling mode tries for a path, in order: a path (serve that file when it
# exists) or a pair (redirect from a file to its canonical URL, see `_redirect`).
_Steps = list[str | tuple[str, str]]


class _Resolver:
    def __init__(self, html_handling: str, not_found_handling: str, exists: Exists) -> None:
        self.html = html_handling
        self.not_found_handling = not_found_handling
        self.exists = exists

    def intent(self, path: str, *, skip_redirects: bool) -> Intent | None:
        mode = _MODES.get(self.html)
        for step in mode(path) if mode is not None else [path]:  # "none": the exact name only
            if isinstance(step, str):
                found = self.exists(step)
                if found:
                    return Intent(found)
            elif not skip_redirects:
                redirect = self._redirect(*step)
                if redirect is not None:
                    return redirect
        return self._not_found(path)

    # A redirect to `destination` is made only when `file` is what `destination` would
    # serve, and `destination` is not itself a file.
    def _redirect(self, file: str, destination: str) -> Intent | None:
        if self.exists(destination):
            return None
        target = self.intent(destination, skip_redirects=True)
        wanted = self.exists(file)
        same = (
            target is not None
            and target.asset is not None
            and wanted is not None
            and target.asset.etag == wanted.etag
        )
        return Intent(redirect=destination) if same else None

    def _not_found(self, path: str) -> Intent | None:
        if self.not_found_handling == "single-page-application":
            index = self.exists("/index.html")
            return Intent(index, not_found=True) if index else None
        if self.not_found_handling == "404-page":
            folder = path
            while folder:
                folder = folder[: folder.rfind("/")]
                page = self.exists(f"{folder}/404.html")
                if page:
                    return Intent(page, status=404, not_found=True)
        return None


# The modes, as Cloudflare's asset worker applies them ("HTML handling" in its docs).


def _auto(p: str) -> _Steps:
    if p.endswith("/index"):
        first: _Steps = [p, (f"{p}.html", p[:-5]), (f"{p[:-6]}.html", p[:-6])]
    elif p.endswith("/index.html"):
        first = [(p, p[:-10]), (f"{p[:-11]}.html", p[:-11])]
    elif p.endswith("/"):
        first = [f"{p}index.html", (f"{p[:-1]}.html", p[:-1])]
    elif p.endswith(".html"):
        first = [(p, p[:-5]), (f"{p[:-5]}/index.html", f"{p[:-5]}/")]
    else:
        first = []
    return [*first, p, f"{p}.html", (f"{p}/index.html", f"{p}/")]


def _force(p: str) -> _Steps:
    if p.endswith("/index"):
        first: _Steps = [p, (f"{p}.html", p[:-5]), (f"{p[:-6]}.html", p[:-5])]
    elif p.endswith("/index.html"):
        first = [(p, p[:-10]), (f"{p[:-11]}.html", p[:-10])]
    elif p.endswith("/"):
        first = [f"{p}index.html", f"{p[:-1]}.html"]
    elif p.endswith(".html"):
        first = [(p, f"{p[:-5]}/"), p, (f"{p[:-5]}/index.html", f"{p[:-5]}/")]
    else:
        first = []
    return [*first, p, (f"{p}.html", f"{p}/"), (f"{p}/index.html", f"{p}/")]


def _drop(p: str) -> _Steps:
    if p == "/index":
        first: _Steps = [p, ("/index.html", "/")]
    elif p.endswith("/index"):
        first = [p, (f"{p[:-6]}.html", p[:-6]), (f"{p}.html", p[:-6])]
    elif p == "/index.html":
        first = [("/index.html", "/")]
    elif p.endswith("/index.html"):
        first = [(p, p[:-11]), p, (f"{p[:-11]}.html", p[:-11])]
    elif p == "/":
        first = ["/index.html"]
    elif p.endswith("/"):
        first = [(f"{p[:-1]}.html", p[:-1]), (f"{p[:-1]}/index.html", p[:-1])]
    elif p.endswith(".html"):
        first = [(p, p[:-5]), (f"{p[:-5]}/index.html", p[:-5])]
    else:
        first = []
    return [*first, p, f"{p}.html", f"{p}/index.html"]


_MODES: dict[str, Callable[[str], _Steps]] = {
    "auto-trailing-slash": _auto,
    "force-trailing-slash": _force,
    "drop-trailing-slash": _drop,
}
