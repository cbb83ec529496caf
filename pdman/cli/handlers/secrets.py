"""Handlers of the secret commands."""

from __future__ import annotations

import sys

from pdman.cli.globalopts import GlobalOptions
from pdman.cli.handlers.common import each


def create(g: GlobalOptions, name: str, source: str, driver: str,
           driver_opts: list[str] | None, env: bool, label: list[str] | None) -> int:
    import os

    from pdman.engine import secrets
    from pdman.engine.runopts import key_values
    from pdman.errors import UsageError

    if env:
        value = os.environ.get(source)
        if value is None:
            raise UsageError(f"environment variable {source} is not set")
        data = value.encode()
    elif source == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(source, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise UsageError(f"reading secret data from {source}: {exc.strerror}") from None
    print(secrets.create(g.context(), name, data, driver=driver,
                         labels=key_values(label, "label"),
                         driver_opts=key_values(driver_opts, "driver-opts")))
    return 0


def _row(r: dict[str, object]) -> dict[str, object]:
    """ls' template fields (podman's): ID, Name, Driver, CreatedAt, UpdatedAt."""
    from pdman.cli.humanize import ago

    def human(stamp: object) -> str:
        import datetime as dt

        return ago(dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp())

    return {"ID": r["ID"], "Name": r["Name"], "Driver": r["Driver"],
            "CreatedAt": human(r["CreatedAt"]), "UpdatedAt": human(r["UpdatedAt"])}


def ls(g: GlobalOptions, quiet: bool, filter: list[str] | None, format: str | None,
       noheading: bool = False) -> int:
    from pdman.cli import output
    from pdman.engine import secrets

    ctx = g.context()
    rows = secrets.list_secrets(ctx, tuple(filter or ()))
    if quiet:
        for r in rows:
            print(r["ID"])
    elif format == "json":
        output.print_json([secrets.report(ctx, r) for r in rows])
    elif format:
        output.print_formatted(format, [_row(r) for r in rows], header=not noheading,
                               headers={"CreatedAt": "CREATED", "UpdatedAt": "UPDATED"})
    else:
        table = [_row(r) for r in rows]
        output.print_table(["ID", "NAME", "DRIVER", "CREATED", "UPDATED"],
                           [[str(t[k]) for k in ("ID", "Name", "Driver", "CreatedAt", "UpdatedAt")]
                            for t in table], header=not noheading)
    return 0


def inspect(g: GlobalOptions, names: list[str], format: str | None, pretty: bool) -> int:
    from pdman.cli import output
    from pdman.engine import secrets
    from pdman.errors import PdmanError

    ctx = g.context()
    reports, code = [], 0
    for n in names:
        try:
            reports.append(secrets.report(ctx, secrets.lookup(ctx, n)))
        except PdmanError as exc:
            print(f"Error: inspecting secret: {exc}", file=sys.stderr)
            code = exc.exit_code
    if pretty:
        for r in reports:
            spec = r["Spec"]
            print(f"ID:              {r['ID']}\nName:            {spec['Name']}\n"
                  f"Driver:          {spec['Driver']['Name']}\n"
                  f"Created at:      {r['CreatedAt']}\nUpdated at:      {r['UpdatedAt']}")
    elif format and format != "json":
        output.print_formatted(format, reports)
    else:
        output.print_json(reports)
    return code


def rm(g: GlobalOptions, names: list[str] | None, all: bool) -> int:
    from pdman.engine import secrets
    from pdman.errors import UsageError

    ctx = g.context()
    if all:
        names = [r["ID"] for r in secrets.list_secrets(ctx)]
    elif not names:
        raise UsageError("`secret rm` needs at least one secret name", hint="or pass --all")
    return each(names, lambda n: secrets.remove(ctx, n))


def exists(g: GlobalOptions, name: str) -> int:
    from pdman.engine import secrets
    from pdman.errors import SecretNotFound

    try:
        secrets.lookup(g.context(), name)
    except SecretNotFound:
        return 1
    return 0
