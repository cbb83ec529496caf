"""Entry point of the `pdman` command (and `python -m pdman`).

Hot commands are parsed by the stdlib fast path; everything else (help, completion,
errors in the command line, rarely used verbs) goes through the Typer app. Errors are
rendered and mapped to exit codes here, once, for both paths.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

#: what a user is asked to do with an error pdman did not expect
BUG_HINT = ("this is a bug in pdman; run the command again with PDMAN_DEBUG=1 (or "
            "--log-level debug) to see where it happened, and report it with that output")


def _debugging(args: list[str]) -> bool:
    """PDMAN_DEBUG=1, or `--log-level debug` among pdman's own options."""
    import os

    if os.environ.get("PDMAN_DEBUG", "") not in ("", "0"):
        return True
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--log-level=debug" or (a == "--log-level" and args[i + 1:i + 2] == ["debug"]):
            return True
        if not a.startswith("-"):
            return False  # the command name: what follows are its own arguments
        i += 2 if a in ("--root", "--runroot", "--log-level", "--url", "--connection", "-c",
                        "--identity") else 1
    return False


def report_unexpected(exc: BaseException, args: list[str]) -> int:
    """The last line of defence: an exception no layer turned into a PdmanError is
    shown as one line naming it, with a hint to report the bug; its traceback only in
    debug mode. Exit 125, as for any engine error."""
    from pdman.errors import EXIT_ENGINE, terminal_safe

    if _debugging(args):
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    text = str(exc).splitlines()[0] if str(exc) else ""
    what = type(exc).__name__ + (f": {text}" if text else "")
    print(terminal_safe(f"Error: unexpected internal error ({what})\nHint: {BUG_HINT}"),
          file=sys.stderr)
    return EXIT_ENGINE


#: names the single-file binary answers to as the Quadlet generator (linked so by
#: `pdman systemd install-generator`)
_GENERATOR_NAMES = ("pdman-systemd-generator", "pdman-system-generator", "pdman-user-generator")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if argv is None and sys.argv and sys.argv[0].rpartition("/")[2] in _GENERATOR_NAMES:
        from pdman.systemd.generator import main as generator_main

        return generator_main(args)
    from pdman.errors import PdmanError

    try:
        from pdman.cli import fast

        args = fast.bool_values(args)
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
    except Exception as exc:  # noqa: BLE001 - the last line of defence, see above
        return report_unexpected(exc, args)
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            pass
        except Exception:  # noqa: BLE001 - stdout gone (closed, full disk): nothing to say
            pass
    return code


def leave(code: int) -> "NoReturn":
    """`sys.exit(code)`, without the interpreter's teardown when nothing needs it:
    freeing every loaded module costs a `run` ~13 ms of its ~80, a `ps` ~3 ms
    (bench/README.md). Taken only when no atexit callback is registered (logging,
    weakref.finalize, concurrent.futures ... register theirs) and no non-daemon
    thread is alive; stdout and stderr are flushed first. Every transaction is
    committed or rolled back by then; the catalogs written to get their WAL
    checkpointed (storage/catalog.checkpoint_writes), as a close would."""
    import atexit

    ncallbacks = getattr(atexit, "_ncallbacks", None)
    if ncallbacks is None or ncallbacks():
        sys.exit(code)
    threading = sys.modules.get("threading")
    if threading is not None and (getattr(threading, "_threading_atexits", True) or any(
            t.is_alive() and not t.daemon and t is not threading.main_thread()
            for t in threading.enumerate())):
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - let the interpreter's own exit deal with it
        sys.exit(code)
    catalog = sys.modules.get("pdman.storage.catalog")
    if catalog is not None:     # after the output: nobody waits for this to see it
        catalog.checkpoint_writes()
    import os

    os._exit(code)


if __name__ == "__main__":
    leave(main())
