"""The ``netloupe`` command: thin shells over the library, one module per command group.

Each command module exposes ``register(app)``; add a module name to ``_COMMAND_MODULES`` to plug in.
Errors that netloupe raises on purpose, bad files and paths (missing, a file where a folder is expected,
no permission), a missing optional dependency and running out of memory print one ``error:`` line and
exit with status 2; only a bug shows a traceback.
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
    "render",
    "bench",
    "models",
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
    except KeyboardInterrupt:
        print_error("interrupted")
        sys.exit(130)
    except BaseException as exc:
        message = known_failure(exc)
        if message is None:
            raise
        print_error(message)
        sys.exit(2)


def known_failure(exc: BaseException) -> str | None:
    """The one-line message for a failure that is the user's situation, not a bug (None: a bug)."""
    if isinstance(exc, OSError) and exc.filename is not None:
        what = {
            FileExistsError: "already exists (a new output folder or file was expected)",
            NotADirectoryError: "a path in it is a file, not a folder",
        }.get(type(exc))
        if what is not None:
            return f"{exc.filename}: {what}"
        return f"{exc.strerror or type(exc).__name__}: {exc.filename}"
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return f"the optional dependency {exc.name!r} is not installed (see the extras in `pip install netloupe[...]`)"
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return "out of memory; use smaller inputs, a smaller --batch-size, or another --device"
    return None
