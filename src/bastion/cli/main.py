"""The ``bastion`` command line.

Each capability contributes its commands from its own module ``bastion.cli.<name>`` through a
``register(app, *, eval_app, train_app)`` function, so adding commands never touches this file beyond the
list below. Heavy imports (models, indexes, web servers) stay inside command functions to keep start-up fast.
"""

from __future__ import annotations

import errno
import functools
import importlib
import importlib.util
import logging
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import DBAPIError

from bastion.errors import BastionError

app = typer.Typer(name="bastion", help=__doc__.split("\n")[0] if __doc__ else None, no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
eval_app = typer.Typer(help="Measure detectors on labelled data.", no_args_is_help=True)
train_app = typer.Typer(help="Train models.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(train_app, name="train")

#: Capability modules that add commands. A module that is not installed is skipped.
COMMAND_MODULES = ("core", "text", "media", "exchanges", "threats", "accounts", "campaigns", "api", "labels", "models",
                   "spark")

err = Console(stderr=True)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        module_name = f"bastion.cli.{name}"
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        module.register(app, eval_app=eval_app, train_app=train_app)


def _guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Map Bastion's errors to a clear message and the documented exit code (2 user, 3 dependency...)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BastionError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}")
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # a file that cannot be read or written: one line naming it, never a traceback
            where = f" {exc.filename}" if exc.filename else ""
            err.print(f"[bold red]error:[/] cannot use{escape(where)}: {escape(exc.strerror or str(exc))}")
            user_error = exc.errno in (errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR)
            raise typer.Exit(2 if user_error else 3) from None
        except DBAPIError as exc:  # read-only or full database, lost connection: the transaction was rolled back
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
            err.print(f"[bold red]error:[/] database: {escape(reason)} (nothing from the failed batch was "
                      "written; fix the cause and run the same command again)")
            raise typer.Exit(3) from None

    return wrapper


def _guard(typer_app: typer.Typer) -> None:
    for cmd in typer_app.registered_commands:
        if cmd.callback is not None:
            cmd.callback = _guarded(cmd.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _guard(group.typer_instance)


_register_all()
_guard(app)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except BastionError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
