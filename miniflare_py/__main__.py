"""`python -m miniflare_py` is `pyflare`."""

from .cli import main

main(prog_name="pyflare")
