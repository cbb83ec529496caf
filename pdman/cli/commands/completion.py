"""Declaration: `completion` (shell completion scripts)."""

from __future__ import annotations

from typing import Annotated

import typer

from pdman.cli import groups
from pdman.cli.decl import handled_by


@handled_by("completion.completion")
def completion(
    shell: Annotated[str, typer.Argument(help="The shell: bash, zsh or fish.")],
) -> None:
    """Print the completion script for a shell. Load it in the current shell with
    `source <(pdman completion bash)` (zsh: `source <(pdman completion zsh)`; fish:
    `pdman completion fish | source`), or install it for good:
    `pdman completion bash > ~/.local/share/bash-completion/completions/pdman`,
    `pdman completion zsh > "${fpath[1]}/_pdman"`,
    `pdman completion fish > ~/.config/fish/completions/pdman.fish`."""


groups.register(completion, (groups.top, "completion"))
