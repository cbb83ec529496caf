"""Handlers of the system commands."""

from __future__ import annotations

from typing import Any

from pdman.cli.globalopts import GlobalOptions


def _yaml(value: Any, indent: int = 0) -> list[str]:
    """podman's `info` prints YAML; this renders the plain nested dict the same way."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{k}:")
                lines.extend(_yaml(v, indent + 1))
            else:
                lines.append(f"{pad}{k}: {_scalar(v)}")
    elif isinstance(value, list):
        for item in value:
            if not isinstance(item, (dict, list)):       # host.security.maskedPaths
                lines.append(f"{pad}- {_scalar(item)}")
                continue
            sub = _yaml(item, indent + 1)
            if sub:
                lines.append(f"{pad}- {sub[0].strip()}")
                lines.extend(sub[1:])
    return lines


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v == "" or v is None or v == [] or v == {}:
        return '""' if v == "" or v is None else ("[]" if v == [] else "{}")
    return str(v)


def info(g: GlobalOptions, format: str | None) -> int:
    from pdman.cli import output
    from pdman.engine.system import info as engine_info

    report = engine_info(g.context())
    if format == "json":
        output.print_json(report)
    elif format:
        output.print_formatted(format, [report])
    else:
        print("\n".join(_yaml(report)))
    return 0


def check(g: GlobalOptions, repair: bool, format: str | None) -> int:
    from pdman.cli import output
    from pdman.engine.check import check as run_check

    report = run_check(g.context(), repair=repair)
    if format == "json":
        output.print_json([f.__dict__ for f in report.findings])
    elif not report.findings:
        print("No problems found")
    else:
        output.print_table(["KIND", "OBJECT", "DETAIL", "REPAIRED"],
                           [[f.kind, f.subject, f.detail, "yes" if f.repaired else "no"]
                            for f in report.findings])
    return 1 if report.unrepaired else 0


def reset(g: GlobalOptions, force: bool) -> int:
    import sys

    from pdman.engine.check import reset as run_reset

    ctx = g.context()
    if not force:
        if not sys.stdin.isatty():
            from pdman.errors import UsageError

            raise UsageError("`system reset` removes everything pdman stores",
                             hint="confirm with --force")
        answer = input(f"WARNING! This removes all containers, images, volumes and "
                       f"{ctx.paths.root}.\nAre you sure you want to continue? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 0
    run_reset(ctx)
    return 0
