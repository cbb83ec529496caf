"""Handler of `completion`: the script that asks pdman itself for completions.

The script runs `pdman` with `_PDMAN_COMPLETE=complete_<shell>` and the words typed so
far in the environment; Typer answers (the fast path steps aside when that variable is
set), so completions always follow the command declarations.
"""

from __future__ import annotations

from pdman.cli.globalopts import GlobalOptions

SHELLS = ("bash", "zsh", "fish")
#: the variable Typer's completion reads for the program name "pdman"
COMPLETE_VAR = "_PDMAN_COMPLETE"


def completion(g: GlobalOptions, shell: str) -> int:
    from pdman.errors import UsageError

    if shell not in SHELLS:
        raise UsageError(f"no completion for shell {shell!r}", hint="use bash, zsh or fish")
    # typer is pinned (pyproject.toml); this is where it keeps the script templates
    from typer._completion_shared import get_completion_script

    print(get_completion_script(prog_name="pdman", complete_var=COMPLETE_VAR, shell=shell))
    return 0
