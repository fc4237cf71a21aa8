"""Shared building blocks of the ASGI and WSGI adapters."""

from .options import BaseOptions, EncodeBody

__all__ = ["BaseOptions", "EncodeBody"]
