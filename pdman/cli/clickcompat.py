"""The click that Typer uses. Typer 0.28 vendors click as `typer._click` (the `click`
package may be installed too, by sqlite-utils, but its classes are not Typer's); this
is the one place that knows which names live where."""

from __future__ import annotations

from typer._click.core import Command, Context, Parameter
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer._click.globals import get_current_context
from typer.core import TyperGroup as Group
from typer.core import TyperOption as Option
from typer.exceptions import Abort, Exit

__all__ = ["Abort", "ClickException", "Command", "Context", "Exit", "Group",
           "NoArgsIsHelpError", "Option", "Parameter", "get_current_context"]
