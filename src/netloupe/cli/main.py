"""The ``netloupe`` command: thin shells over the library, one module per command group.

Each command module exposes ``register(app)``; add a module name to ``_COMMAND_MODULES`` to plug in.
Errors that netloupe raises on purpose (and bad files) print one line and exit with status 2.
"""

from __future__ import annotations

import sys
from importlib import import_module

import typer

from ._console import print_error

_COMMAND_MODULES = [
    "explain",
    "demo",
    "localize",
    "evaluate",
    "internals",
    "medical",
    "audit",
    "seq",
    "video",
    "caption",
    "har",
    "serve",
    "run",
    "bench",
]

app = typer.Typer(
    name="netloupe",
    help="A loupe for neural networks: see where a model looks and whether it is right.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _name in _COMMAND_MODULES:
    import_module(f"netloupe.cli.{_name}").register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    from ..errors import NetloupeError

    try:
        app(args=argv, standalone_mode=True)
    except NetloupeError as exc:
        print_error(str(exc))
        sys.exit(2)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print_error(f"{exc.strerror}: {exc.filename}")
        sys.exit(2)
    except KeyboardInterrupt:
        print_error("interrupted")
        sys.exit(130)
