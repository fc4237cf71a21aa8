"""The `pyflare` command: click groups only; each command lives in `miniflare_py.commands`.

A command's module is imported when the command runs or is listed (`pyflare --help`), so
`pyflare dev` does not pay for the D1, KV, R2 and queue verbs it does not run.

How it ends: a user mistake is one line on stderr (`Error: ...`, exit 1, or 2 for a bad command
line) and never a traceback; an exception nobody expected is a pyflare bug, so it prints its
traceback and asks for a report (exit 1).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from .commands.options import color_option
from .console import DISTRIBUTION, report_bug

#: `pyflare`'s own commands as `module:attribute`; the attribute is the command's name.
COMMANDS = {
    "dev": "miniflare_py.commands.dev:dev",
    "check": "miniflare_py.commands.check:check",
}


def command_specs() -> dict[str, str]:
    """Every command `pyflare` has, by name: its own, then each binding type's verbs
    (`BindingType.cli_command`, `pyflare d1 ...`), each as `module:attribute` (the attribute is
    the command's name)."""
    from .bindings import binding_types

    specs = dict(COMMANDS)
    for binding_type in binding_types():
        if binding_type.cli_command is not None:
            specs[binding_type.cli_command.rpartition(":")[2]] = binding_type.cli_command
    return specs


class PyflareGroup(click.Group):
    """click's group, with one-line usage errors and a bug report for unexpected exceptions,
    whose commands are imported on first use (see `command_specs`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *command_specs()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None:
            # `pyflare dev` and `pyflare check` need not import the registry to be found.
            spec = COMMANDS.get(cmd_name) or command_specs().get(cmd_name)
            if spec is None:
                return None
            module, _, attribute = spec.partition(":")
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return command

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as exc:
            hint = ""
            if exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} {exc.ctx.help_option_names[0]}')"
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        except BrokenPipeError:
            # The reader went away (`pyflare ... | head`): stop quietly, as Unix tools do.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)
        except Exception as exc:
            report_bug(exc)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=PyflareGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name=DISTRIBUTION, prog_name="pyflare")
@color_option
def main() -> None:
    """pyflare: Cloudflare Workers with Queues and D1, for Python, on your machine."""
