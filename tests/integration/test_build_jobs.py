"""`pdman build --jobs N`: independent stages built at the same time. Two stages whose
RUN steps each wait for the other's mark (in a directory both mount) can only finish
when they run together; a failing stage fails the build with its own error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.test_build import Run, context, pd  # noqa: F401 (fixture)

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user (bash tests/run)",
                allow_module_level=True)


def _meet(me: str, other: str) -> str:
    # gives up after about 60s: a sequential build fails instead of hanging
    return (f"RUN echo {me}-started && touch /shared/{me} && i=0 && "
            f"until [ -e /shared/{other} ]; do sleep 0.1; i=$((i+1)); "
            f"[ $i -lt 600 ] || exit 9; done && echo {me}-met > /{me}.txt\n")


def test_independent_stages_overlap(pd: Run, busybox: str, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    ctx = context(tmp_path / "ctx", {"Containerfile": (
        f"FROM {busybox} AS a\n" + _meet("a", "b")
        + f"FROM {busybox} AS b\n" + _meet("b", "a")
        + f"FROM {busybox}\nCOPY --from=a /a.txt /a.txt\nCOPY --from=b /b.txt /b.txt\n")})
    done = pd("build", "-t", "jobs", "--jobs", "2", "--volume", f"{shared}:/shared", str(ctx))
    # both stages started before either ended: each saw the other's mark
    assert "a-started" in done.stdout and "b-started" in done.stdout
    assert "STEP 6/7: COPY --from=a" in done.stdout                  # the sequential numbers
    out = pd("run", "--rm", "jobs", "cat", "/a.txt", "/b.txt").stdout
    assert out == "a-met\nb-met\n"
    # cached the second time, in parallel too
    again = pd("build", "-q", "--jobs", "0", "--volume", f"{shared}:/shared", str(ctx))
    assert again.stdout.strip() == pd("image", "inspect", "--format", "{{.Id}}",
                                      "jobs").stdout.strip().removeprefix("sha256:")


def test_a_failing_stage_fails_the_build(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": (
        f"FROM {busybox} AS a\nRUN echo fine > /ok\n"
        f"FROM {busybox} AS b\nRUN exit 4\n"
        f"FROM {busybox}\nCOPY --from=a /ok /ok\nCOPY --from=b /x /x\n")})
    done = pd("build", "--no-cache", "--jobs", "2", str(ctx), check=False)
    assert done.returncode == 1, done.stderr
    assert "RUN exit 4" in done.stderr and "status 4" in done.stderr
    assert "Traceback" not in done.stderr
    assert pd("ps", "-a", "-q").stdout.strip() == ""
