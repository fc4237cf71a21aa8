"""`make conformance`: Cloudflare's Python Workers SDK binding tests, run unchanged on pyflare.

See `runner.py`. Nothing from the SDK is kept in this repository: its sdist is downloaded from
PyPI at run time into `.cache/conformance/` (ignored by git).
"""
