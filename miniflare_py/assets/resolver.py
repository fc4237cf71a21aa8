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


class _Resolver:
    def __init__(self, html_handling: str, not_found_handling: str, exists: Exists) -> None:
        self.html = html_handling
        self.not_found_handling = not_found_handling
        self.exists = exists

    def intent(self, path: str, *, skip_redirects: bool) -> Intent | None:
        if self.html == "auto-trailing-slash":
            return self._auto(path, skip_redirects)
        if self.html == "force-trailing-slash":
            return self._force(path, skip_redirects)
        if self.html == "drop-trailing-slash":
            return self._drop(path, skip_redirects)
        found = self.exists(path)
        return Intent(found) if found else self._not_found(path)

    # A redirect to `destination` is made only when `file` is what `destination` would
    # serve, and `destination` is not itself a file.
    def _redirect(self, file: str, destination: str, skip: bool) -> Intent | None:
        if skip or self.exists(destination):
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

    def _first(self, *candidates: Callable[[], Intent | None]) -> Intent | None:
        for candidate in candidates:
            found = candidate()
            if found is not None:
                return found
        return None

    def _serve(self, path: str) -> Callable[[], Intent | None]:
        def serve() -> Intent | None:
            found = self.exists(path)
            return Intent(found) if found else None

        return serve

    def _auto(self, p: str, skip: bool) -> Intent | None:
        r = self._redirect
        exact = self.exists(p)
        if p.endswith("/index"):
            if exact:
                return Intent(exact)
            found = self._first(
                lambda: r(f"{p}.html", p[:-5], skip), lambda: r(f"{p[:-6]}.html", p[:-6], skip)
            )
        elif p.endswith("/index.html"):
            found = self._first(
                lambda: r(p, p[:-10], skip), lambda: r(f"{p[:-11]}.html", p[:-11], skip)
            )
        elif p.endswith("/"):
            found = self._first(
                self._serve(f"{p}index.html"), lambda: r(f"{p[:-1]}.html", p[:-1], skip)
            )
        elif p.endswith(".html"):
            found = self._first(
                lambda: r(p, p[:-5], skip), lambda: r(f"{p[:-5]}/index.html", f"{p[:-5]}/", skip)
            )
        else:
            found = None
        if found is not None:
            return found
        if exact:
            return Intent(exact)
        return self._first(
            self._serve(f"{p}.html"),
            lambda: r(f"{p}/index.html", f"{p}/", skip),
            lambda: self._not_found(p),
        )

    def _force(self, p: str, skip: bool) -> Intent | None:
        r = self._redirect
        exact = self.exists(p)
        found: Intent | None = None
        if p.endswith("/index"):
            if exact:
                return Intent(exact)
            found = self._first(
                lambda: r(f"{p}.html", p[:-5], skip), lambda: r(f"{p[:-6]}.html", p[:-5], skip)
            )
        elif p.endswith("/index.html"):
            found = self._first(
                lambda: r(p, p[:-10], skip), lambda: r(f"{p[:-11]}.html", p[:-10], skip)
            )
        elif p.endswith("/"):
            found = self._first(self._serve(f"{p}index.html"), self._serve(f"{p[:-1]}.html"))
        elif p.endswith(".html"):
            found = r(p, f"{p[:-5]}/", skip)
            if found is None and exact:
                return Intent(exact)
            if found is None:
                found = r(f"{p[:-5]}/index.html", f"{p[:-5]}/", skip)
        if found is not None:
            return found
        if exact:
            return Intent(exact)
        return self._first(
            lambda: r(f"{p}.html", f"{p}/", skip),
            lambda: r(f"{p}/index.html", f"{p}/", skip),
            lambda: self._not_found(p),
        )

    def _drop(self, p: str, skip: bool) -> Intent | None:
        r = self._redirect
        exact = self.exists(p)
        found: Intent | None = None
        if p.endswith("/index"):
            if exact:
                return Intent(exact)
            if p == "/index":
                found = r("/index.html", "/", skip)
            else:
                found = self._first(
                    lambda: r(f"{p[:-6]}.html", p[:-6], skip),
                    lambda: r(f"{p}.html", p[:-6], skip),
                )
        elif p.endswith("/index.html"):
            if p == "/index.html":
                found = r("/index.html", "/", skip)
            else:
                found = r(p, p[:-11], skip)
                if found is None and exact:
                    return Intent(exact)
                if found is None:
                    found = r(f"{p[:-11]}.html", p[:-11], skip)
        elif p.endswith("/"):
            if p == "/":
                found = self._serve("/index.html")()
            else:
                found = self._first(
                    lambda: r(f"{p[:-1]}.html", p[:-1], skip),
                    lambda: r(f"{p[:-1]}/index.html", p[:-1], skip),
                )
        elif p.endswith(".html"):
            found = self._first(
                lambda: r(p, p[:-5], skip), lambda: r(f"{p[:-5]}/index.html", p[:-5], skip)
            )
        if found is not None:
            return found
        if exact:
            return Intent(exact)
        return self._first(
            self._serve(f"{p}.html"),
            self._serve(f"{p}/index.html"),
            lambda: self._not_found(p),
        )

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
