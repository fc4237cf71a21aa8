"""The `pyflare` command: click groups only; each command lives in `miniflare_py.commands`."""

from __future__ import annotations

import click

from .commands.check import check
from .commands.d1 import d1
from .commands.dev import dev
from .commands.queues import queues


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pyflare", prog_name="pyflare")
def main() -> None:
    """pyflare: Cloudflare Workers with Queues and D1, for Python, on your machine."""


main.add_command(dev)
main.add_command(check)
main.add_command(d1)
main.add_command(queues)
