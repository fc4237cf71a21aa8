"""Durable Object ids: `idFromName` (deterministic), `newUniqueId`, `idFromString` (checked).

An id is 64 hex digits: 16 bytes, then an HMAC of them keyed by the class's unique key
(`<worker name>-<class name>`, as in Miniflare), so the same name gives the same id in wrangler
and pyflare, and an id of another class is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

from ..bindings.persist import object_id_from_name

__all__ = ["DurableObjectId", "id_belongs", "new_unique_id", "parse_id"]

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


class DurableObjectId:
    """One object's id: `toString()` (64 lowercase hex), `.name` (None unless from a name),
    `equals(other)`."""

    __slots__ = ("_hex", "jurisdiction", "name")

    def __init__(self, hex_id: str, name: str | None = None, jurisdiction: str | None = None):
        self._hex = hex_id
        self.name = name
        self.jurisdiction = jurisdiction

    def toString(self) -> str:
        return self._hex

    to_string = toString

    def equals(self, other: object) -> bool:
        return isinstance(other, DurableObjectId) and other._hex == self._hex

    def __eq__(self, other: object) -> bool:
        return self.equals(other)

    def __hash__(self) -> int:
        return hash(self._hex)

    def __str__(self) -> str:
        return self._hex

    def __repr__(self) -> str:
        named = f" name={self.name!r}" if self.name is not None else ""
        return f"DurableObjectId({self._hex}{named})"


def _mac(unique_key: str, base: bytes) -> bytes:
    key = hashlib.sha256(unique_key.encode()).digest()
    return hmac.new(key, base, hashlib.sha256).digest()[:16]


def from_name(unique_key: str, name: str) -> DurableObjectId:
    return DurableObjectId(object_id_from_name(unique_key, name), name)


def new_unique_id(unique_key: str, jurisdiction: str | None = None) -> DurableObjectId:
    base = os.urandom(16)
    return DurableObjectId((base + _mac(unique_key, base)).hex(), None, jurisdiction)


def id_belongs(unique_key: str, hex_id: str) -> bool:
    raw = bytes.fromhex(hex_id)
    return hmac.compare_digest(_mac(unique_key, raw[:16]), raw[16:])


def parse_id(unique_key: str, text: object) -> DurableObjectId:
    """`idFromString`: workerd's errors for a malformed id or one of another class."""
    if not isinstance(text, str) or not _HEX64.fullmatch(text):
        raise TypeError("Invalid Durable Object ID: must be 64 hex digits")
    hex_id = text.lower()
    if not id_belongs(unique_key, hex_id):
        raise TypeError("Durable Object ID is not valid for this namespace.")
    return DurableObjectId(hex_id)
