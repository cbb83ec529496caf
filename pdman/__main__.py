"""Entry point of the `pdman` command (and `python -m pdman`).

Hot commands are parsed by the stdlib fast path; everything else (help, completion,
errors in the command line, rarely used verbs) goes through the Typer app. Errors are
rendered and mapped to exit codes here, once, for both paths.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    from pdman.errors import PdmanError

    try:
        from pdman.cli import fast

        code = fast.try_run(args)
        if code is None:
            from pdman.cli.app import run_typer

            code = run_typer(args)
    except PdmanError as exc:
        print(exc.render(), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `pdman ps | head`: the reader went away; not an error of ours
        return 0
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            pass
    return code


if __name__ == "__main__":
    sys.exit(main())
