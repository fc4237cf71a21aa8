"""URL paths as the edge sees them before it looks for an asset.

A request's path is normalised the way a browser's (WHATWG) URL parser does it: backslashes
become slashes and `.`/`..` segments, also written `%2e`, are resolved, so no path climbs out of
the root. Each segment is then percent-decoded and repeated slashes collapse. The result is
only ever looked up in the manifest, which lists nothing outside the assets folder.
"""

from __future__ import annotations

import contextlib
from urllib.parse import quote, unquote

__all__ = ["decode_path", "encode_path", "normalise_path"]

_DOTS = {".", "%2e", "%2E"}


def _is_dot(segment: str) -> bool:
    return segment in _DOTS


def _is_double_dot(segment: str) -> bool:
    return len(segment) >= 2 and segment.lower() in ("..", ".%2e", "%2e.", "%2e%2e")


def normalise_path(raw: str) -> str:
    """The URL path as a URL parser leaves it (still percent-encoded)."""
    raw = raw.replace("\\", "/")
    if not raw.startswith("/"):
        raw = "/" + raw
    out: list[str] = []
    segments = raw.split("/")[1:]
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if _is_double_dot(segment):
            if out:
                out.pop()
            if last:
                out.append("")
        elif _is_dot(segment):
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/" + "/".join(out)


def decode_path(path: str) -> str:
    """Percent-decode each segment (a malformed one stays as it is), collapse `//`."""
    parts = []
    for segment in path.split("/"):
        if "%" in segment:
            # A segment decodeURIComponent fails on is kept encoded.
            with contextlib.suppress(UnicodeDecodeError):
                segment = unquote(segment, errors="strict")
        parts.append(segment)
    decoded = "/".join(parts)
    while "//" in decoded:
        decoded = decoded.replace("//", "/")
    return decoded


def encode_path(path: str) -> str:
    """Percent-encode each segment as JavaScript's encodeURIComponent does."""
    return "/".join(quote(segment, safe="!'()*-._~") for segment in path.split("/"))
