"""`onlyIf`: the conditions of a conditional `get` or `put`, as R2 evaluates them.

Given as a dict (`etagMatches`, `etagDoesNotMatch`, `uploadedBefore`, `uploadedAfter`,
`secondsGranularity`) or as request headers (`If-Match`, `If-None-Match`, `If-Modified-Since`,
`If-Unmodified-Since`, compared to the second). The rules are RFC 9110's: a matching
`If-None-Match` makes `If-Modified-Since` moot, a matching `If-Match` makes
`If-Unmodified-Since` moot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from .options import is_headers

__all__ = ["Conditional", "parse_conditional"]

Etag = tuple[str, str]  # ("strong" | "weak" | "wildcard", value)


@dataclass(frozen=True)
class Conditional:
    etag_matches: tuple[Etag, ...] | None = None
    etag_does_not_match: tuple[Etag, ...] | None = None
    uploaded_before: int | None = None  # milliseconds since the epoch
    uploaded_after: int | None = None
    seconds_granularity: bool = False

    def holds(self, etag: str | None, uploaded: int | None) -> bool:
        """Whether the conditions hold for an object (`etag` None: there is no object)."""
        if etag is None or uploaded is None:
            return self.etag_matches is None and self.uploaded_after is None
        if_match = self.etag_matches is None or _includes(self.etag_matches, etag, weak=False)
        if_none_match = self.etag_does_not_match is None or not _includes(
            self.etag_does_not_match, etag, weak=True
        )
        last = self._ms(uploaded)
        if_modified = (
            self.uploaded_after is None
            or self._ms(self.uploaded_after) < last
            or (self.etag_does_not_match is not None and if_none_match)
        )
        if_unmodified = (
            self.uploaded_before is None
            or last < self._ms(self.uploaded_before)
            or (self.etag_matches is not None and if_match)
        )
        return if_match and if_none_match and if_modified and if_unmodified

    def _ms(self, value: int) -> int:
        return value // 1000 * 1000 if self.seconds_granularity else value


def _includes(etags: tuple[Etag, ...], etag: str, *, weak: bool) -> bool:
    return any(
        kind == "wildcard" or (value == etag and (kind == "strong" or weak))
        for kind, value in etags
    )


def parse_conditional(value: Any) -> Conditional | None:
    """The `onlyIf` option as a `Conditional` (None when absent); raises `TypeError` (or
    `ValueError` for a bad header) with workerd's texts."""
    if value is None:
        return None
    if is_headers(value):
        return _from_headers(value)
    if not isinstance(value, dict):
        to_py = getattr(value, "to_py", None)
        if to_py is None:
            raise TypeError(
                f"onlyIf must be a dict or a Headers object, got {type(value).__name__}"
            )
        value = to_py()
    return Conditional(
        etag_matches=_single_etag(value.get("etagMatches")),
        etag_does_not_match=_single_etag(value.get("etagDoesNotMatch")),
        uploaded_before=_date_ms(value.get("uploadedBefore"), "uploadedBefore"),
        uploaded_after=_date_ms(value.get("uploadedAfter"), "uploadedAfter"),
        seconds_granularity=bool(value.get("secondsGranularity") or False),
    )


def _single_etag(value: Any) -> tuple[Etag, ...] | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"Conditional ETag must be a string, got {type(value).__name__}")
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        raise TypeError(f"Conditional ETag should not be wrapped in quotes ({value}).")
    return (("wildcard", ""),) if value == "*" else (("strong", value),)


def _date_ms(value: Any, name: str) -> int | None:
    """A date option (datetime, date string or milliseconds since the epoch) in ms."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)  # a naive time is UTC, as on Cloudflare
        return int(value.timestamp() * 1000)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    get_time = getattr(value, "getTime", None)  # a JavaScript Date
    if callable(get_time):
        return int(get_time())
    if isinstance(value, str):
        return _http_date_ms(value, name)
    raise TypeError(f"onlyIf.{name} must be a datetime, got {type(value).__name__}")


def _http_date_ms(text: str, name: str) -> int:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{name}: invalid date {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp() * 1000)


def _from_headers(headers: Any) -> Conditional:
    if_match = headers.get("if-match")
    if_none_match = headers.get("if-none-match")
    modified = headers.get("if-modified-since")
    unmodified = headers.get("if-unmodified-since")
    return Conditional(
        etag_matches=parse_etag_header(if_match) if if_match is not None else None,
        etag_does_not_match=parse_etag_header(if_none_match) if if_none_match is not None else None,
        uploaded_after=_http_date_ms(modified, "If-Modified-Since") if modified else None,
        uploaded_before=_http_date_ms(unmodified, "If-Unmodified-Since") if unmodified else None,
        seconds_granularity=True,
    )


def parse_etag_header(header: str) -> tuple[Etag, ...]:
    """The etags of an `If-Match`/`If-None-Match` header: `"a", W/"b"` or `*`. Empty list
    elements are skipped; a wildcard stands for everything; errors use workerd's texts."""
    found: list[Etag] = []
    i, n = 0, len(header)
    need_comma = False
    while i < n:
        c = header[i]
        if c in " \t":
            i += 1
        elif c == ",":
            need_comma = False
            i += 1
        elif need_comma:
            what = {
                "*": "a wildcard character '*'",
                '"': "a double quote character '\"'. This would otherwise indicate the start "
                "of a new strong etag",
                "W": "a weak quotation character 'W'. This would otherwise indicate the start "
                "of a new weak etag",
            }.get(c)
            if what is None:
                i += 1
                continue
            raise ValueError(f"Comma was expected to separate etags. Encountered {what} instead.")
        elif c == "*":
            return (("wildcard", ""),)
        elif c == '"' or (c == "W" and header.startswith('W/"', i)):
            weak = c == "W"
            start = i + (3 if weak else 1)
            end = header.find('"', start)
            if end < 0:
                raise ValueError("Unclosed double quote for Etag")
            found.append(("weak" if weak else "strong", header[start:end]))
            i = end + 1
            need_comma = True
        elif c == "W":
            raise ValueError("Weak etags must start with W/ and their value must be quoted")
        else:
            i += 1  # stray characters between etags are ignored, as workerd does
    return tuple(found)
