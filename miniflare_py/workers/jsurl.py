"""JavaScript's `URL` (`js.URL.new(url, base)`), with the WHATWG normalisation a worker sees:
scheme and host lower-cased, the default port dropped, an empty path of an http(s) URL as "/",
and unsafe characters percent-encoded."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from .jsbody import URLSearchParams
from .jsobject import JsProxy, js_class, js_error, jsnull

__all__ = ["URL", "normalize_url"]

_SPECIAL_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
# What the URL spec leaves as is in a path, query or fragment (it encodes spaces, quotes, <>).
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = "/?:@!$&'()*+,;=-._~%"


def _parse(url: str, base: str | None = None) -> tuple[str, str, str, str, str]:
    text = str(url).strip()
    if base is not None:
        text = urljoin(normalize_url(base), text)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if not scheme or (scheme in _SPECIAL_PORTS and not parts.netloc):
        raise js_error("TypeError", f"Invalid URL: {url}", TypeError)
    try:
        port = parts.port
    except ValueError:
        raise js_error("TypeError", f"Invalid URL: {url}", TypeError) from None
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    netloc = host
    if port is not None and _SPECIAL_PORTS.get(scheme) != port:
        netloc = f"{host}:{port}"
    if parts.username is not None or parts.password is not None:
        credentials = quote(parts.username or "", safe="%")
        if parts.password:
            credentials += ":" + quote(parts.password, safe="%")
        netloc = f"{credentials}@{netloc}"
    path = quote(parts.path, safe=_PATH_SAFE)
    if not path and scheme in _SPECIAL_PORTS:
        path = "/"
    query = quote(parts.query, safe=_QUERY_SAFE)
    fragment = quote(parts.fragment, safe=_QUERY_SAFE)
    return scheme, netloc, path, query, fragment


# An http(s) URL already in normal form (lower-case host, no port, a path, no characters that
# need encoding): most URLs a worker builds; taken as is, without parsing.
_NORMAL = re.compile(
    r"https?://[a-z0-9.\-]+/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*(\?[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*)?"
)


def normalize_url(url: str) -> str:
    """`url` as JavaScript's `new URL(url).href` writes it; TypeError if it is not absolute."""
    if type(url) is str and _NORMAL.fullmatch(url):
        return url
    scheme, netloc, path, query, fragment = _parse(url)
    text = urlunsplit((scheme, netloc, path, query, fragment))
    if query == "" and str(url).rstrip().endswith("?"):
        text += "?"
    return text


@js_class("URL", canParse=lambda url, base=None: _can_parse(url, base))
class URL(JsProxy):
    """A parsed URL; properties are read and written as in JavaScript (`pathname`, `search`...)."""

    __slots__ = ("_fragment", "_netloc", "_params", "_path", "_query", "_scheme")

    def __init__(self, url: Any, base: Any = None) -> None:
        base = None if base is None or base is jsnull else str(base)
        parts = _parse(str(url), base)
        self._scheme, self._netloc, self._path, self._query, self._fragment = parts
        self._params: URLSearchParams | None = None

    # the parts, as JavaScript names them

    @property
    def href(self) -> str:
        return urlunsplit((self._scheme, self._netloc, self._path, self._query, self._fragment))

    @href.setter
    def href(self, value: str) -> None:
        self.__init__(value)  # type: ignore[misc]

    @property
    def protocol(self) -> str:
        return f"{self._scheme}:"

    @protocol.setter
    def protocol(self, value: str) -> None:
        self._scheme = value.rstrip(":").lower()

    @property
    def host(self) -> str:
        return self._netloc.rpartition("@")[2]

    @host.setter
    def host(self, value: str) -> None:
        credentials = self._netloc.rpartition("@")[0]
        self._netloc = f"{credentials}@{value.lower()}" if credentials else value.lower()

    @property
    def hostname(self) -> str:
        host = self.host
        if host.startswith("["):
            return host[: host.index("]") + 1]
        return host.rpartition(":")[0] if ":" in host else host

    @hostname.setter
    def hostname(self, value: str) -> None:
        port = self.port
        self.host = f"{value}:{port}" if port else value

    @property
    def port(self) -> str:
        host = self.host
        tail = host[host.index("]") + 1 :] if host.startswith("[") else host
        return tail.rpartition(":")[2] if ":" in tail else ""

    @port.setter
    def port(self, value: Any) -> None:
        value = str(value)
        default = _SPECIAL_PORTS.get(self._scheme)
        self.host = (
            self.hostname if not value or value == str(default) else f"{self.hostname}:{value}"
        )

    @property
    def origin(self) -> str:
        if self._scheme in _SPECIAL_PORTS:
            return f"{self._scheme}://{self.host}"
        return "null"

    @property
    def pathname(self) -> str:
        return self._path

    @pathname.setter
    def pathname(self, value: str) -> None:
        path = quote(str(value), safe=_PATH_SAFE)
        self._path = path if path.startswith("/") else "/" + path

    @property
    def search(self) -> str:
        return f"?{self._query}" if self._query else ""

    @search.setter
    def search(self, value: str) -> None:
        value = str(value)
        self._query = quote(value[1:] if value.startswith("?") else value, safe=_QUERY_SAFE)
        self._params = None

    @property
    def searchParams(self) -> URLSearchParams:
        if self._params is None:
            params = URLSearchParams(self._query)
            params._on_change = self._params_changed
            self._params = params
        return self._params

    def _params_changed(self, params: URLSearchParams) -> None:
        self._query = params.toString()

    @property
    def hash(self) -> str:
        return f"#{self._fragment}" if self._fragment else ""

    @hash.setter
    def hash(self, value: str) -> None:
        value = str(value)
        self._fragment = quote(value[1:] if value.startswith("#") else value, safe=_QUERY_SAFE)

    @property
    def username(self) -> str:
        credentials = self._netloc.rpartition("@")[0]
        return credentials.partition(":")[0]

    @property
    def password(self) -> str:
        credentials = self._netloc.rpartition("@")[0]
        return credentials.partition(":")[2]

    def toString(self) -> str:
        return self.href

    toJSON = toString

    def __str__(self) -> str:
        return self.href

    def __repr__(self) -> str:
        return f"URL({self.href!r})"


def _can_parse(url: Any, base: Any = None) -> bool:
    try:
        URL(url, base)
    except TypeError:
        return False
    return True
