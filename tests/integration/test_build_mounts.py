"""`RUN --mount=type=cache|bind|tmpfs|secret` as the unprivileged user: a cache
directory kept between builds, context and stage files mounted (read-only unless rw,
never written back), and a build secret that reaches neither the image nor the cache
key."""

from __future__ import annotations

import gzip
import os
import subprocess
import tarfile
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bed.runner import runner_with

if os.geteuid() == 0:
    pytest.skip("the suite is rootless: run it as an unprivileged user with a subordinate "
                "ID range (bash tests/run does, via tests/bed/user.sh)",
                allow_module_level=True)

Run = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def pd(registry_env: dict[str, str]) -> Run:
    return runner_with(registry_env, timeout=300)   # builds take longer


def context(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def saved_bytes(pd: Run, image: str, tmp_path: Path) -> bytes:
    """Every byte of the image as `save` writes it, each layer decompressed."""
    out = tmp_path / f"saved-{uuid.uuid4().hex[:6]}.tar"
    pd("save", "-o", out, image)
    chunks = []
    with tarfile.open(out) as tar:
        for m in tar:
            if not m.isreg():
                continue
            data = tar.extractfile(m).read()  # type: ignore[union-attr]
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            chunks.append(data)
    return b"".join(chunks)


def test_cache_mount_persists_between_builds(pd: Run, busybox: str, tmp_path: Path) -> None:
    mark = uuid.uuid4().hex
    # what the RUN writes is not its own text (that is in the history)
    content = mark.translate(str.maketrans("0123456789abcdef", "ghijklmnopqrstuv"))
    first = context(tmp_path / "one", {"Containerfile": f"""FROM {busybox}
RUN --mount=type=cache,target=/var/cache/thing,id=shared-{mark} \\
    echo {mark} | tr 0-9a-f g-v > /var/cache/thing/made-by-one && echo one-ran > /one
RUN --mount=type=cache,target=/c2,uid=1000,gid=1001,mode=0750,sharing=locked \\
    stat -c '%u %g %a' /c2 > /c2-stat
"""})
    second = context(tmp_path / "two", {"Containerfile": f"""FROM {busybox}
RUN --mount=type=cache,target=/elsewhere,id=shared-{mark},sharing=private \\
    cat /elsewhere/made-by-one > /seen && ls /elsewhere > /listing
"""})
    pd("build", "-t", "cache-one", str(first))
    assert pd("run", "--rm", "cache-one", "cat", "/c2-stat").stdout == "1000 1001 750\n"
    # the mount points and the cache's files are not in the image
    shown = pd("run", "--rm", "cache-one", "sh", "-c",
               "ls -d /var/cache/thing /c2 2>&1; true").stdout
    assert "No such file" in shown and shown.count("No such file") == 2
    assert content.encode() not in saved_bytes(pd, "cache-one", tmp_path)
    # another build, another Containerfile, the same id: the files are still there
    pd("build", "-t", "cache-two", str(second))
    assert pd("run", "--rm", "cache-two", "cat", "/seen").stdout == content + "\n"
    # the cache's content is not part of the step's key: a rebuild is cached
    again = pd("build", "-t", "cache-two", str(second))
    assert "--> Using cache" in again.stdout


def test_secret_is_mounted_for_the_step_only(pd: Run, busybox: str, tmp_path: Path) -> None:
    secret = f"s3cret-{uuid.uuid4().hex}"
    (tmp_path / "token").write_text(secret)
    ctx = context(tmp_path / "ctx", {"Containerfile": f"""FROM {busybox}
RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /len && \\
    stat -c '%a %u' /run/secrets/tok > /mode && cp /run/secrets/tok /dev/null
RUN --mount=type=secret,id=tok,target=/etc/app/key,required=true,mode=0440,uid=1000 \\
    stat -c '%a %u' /etc/app/key > /mode2 && grep -c s3cret /etc/app/key > /found
RUN --mount=type=secret,id=absent ls /run/secrets > /absent 2>&1 || echo none > /absent
"""})
    done = pd("build", "-t", "with-secret", "--secret", f"id=tok,src={tmp_path / 'token'}",
              str(ctx))
    assert secret not in done.stdout + done.stderr
    run = pd("run", "--rm", "with-secret", "cat", "/len", "/mode", "/mode2", "/found",
             "/absent").stdout.split("\n")
    assert run[:5] == [str(len(secret)), "400 0", "440 1000", "1", "none"]
    gone = pd("run", "--rm", "with-secret", "sh", "-c",
              "ls /run/secrets/tok /etc/app/key 2>&1; true").stdout
    assert gone.count("No such file") == 2
    # nowhere in the image: not in a layer, not in the config or history
    assert secret.encode() not in saved_bytes(pd, "with-secret", tmp_path)
    assert secret not in pd("image", "inspect", "with-secret").stdout
    assert secret not in pd("history", "--no-trunc", "with-secret").stdout
    # nor in the cache key: another secret value, the same steps from the cache
    (tmp_path / "token").write_text("another value")
    again = pd("build", "-t", "with-secret", "--secret", f"id=tok,src={tmp_path / 'token'}",
               str(ctx))
    assert again.stdout.count("--> Using cache") == 3
    # a required secret not given is an error naming it (pdman's own: 125)
    needs = context(tmp_path / "needs", {"Containerfile": f"FROM {busybox}\nENV A=1\n"
                                         "RUN --mount=type=secret,id=tok,required true\n"})
    missing = pd("build", str(needs), check=False)
    assert missing.returncode == 125
    assert "'tok' is required" in missing.stderr and "Containerfile:3" in missing.stderr


def test_bind_mounts_from_context_and_stage(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {
        "Containerfile": f"""FROM {busybox} AS builder
RUN echo from-stage > /made
FROM {busybox}
RUN --mount=type=bind,source=data,target=/mnt \\
    cat /mnt/x.txt > /out && ls /mnt > /list && \\
    (touch /mnt/w 2>/dev/null && echo rw || echo ro) > /rw
RUN --mount=type=bind,source=data,target=/mnt,rw touch /mnt/new && echo wrote > /wrote
RUN --mount=type=bind,from=builder,source=/made,target=/g cat /g > /fromstage
RUN --mount=type=tmpfs,target=/scratch,size=1048576 \\
    echo x > /scratch/y && grep ' /scratch tmpfs' /proc/mounts | cut -d' ' -f3 > /t
""",
        "data/x.txt": "one\n",
        "data/ignored.txt": "nope\n",
        ".dockerignore": "data/ignored.txt\n"})
    pd("build", "-t", "binds", str(ctx))
    out = pd("run", "--rm", "binds", "cat", "/out", "/list", "/rw", "/wrote", "/fromstage",
             "/t").stdout
    assert out == "one\nx.txt\nro\nwrote\nfrom-stage\ntmpfs\n"
    assert not (ctx / "data" / "new").exists()          # rw writes are thrown away
    shown = pd("run", "--rm", "binds", "sh", "-c", "ls -d /mnt /g /scratch 2>&1; true").stdout
    assert shown.count("No such file") == 3
    # the bound files are part of the step's key: change one, that step runs again
    (ctx / "data" / "x.txt").write_text("two\n")
    pd("build", "-t", "binds", str(ctx))
    assert pd("run", "--rm", "binds", "cat", "/out").stdout == "two\n"
    # and a source outside the context is refused, naming the line
    bad = context(tmp_path / "bad", {"Containerfile": f"FROM {busybox}\n"
                                     "RUN --mount=type=bind,source=../ctx,target=/m true\n"})
    done = pd("build", str(bad), check=False)
    assert done.returncode == 125 and "Containerfile:2" in done.stderr, done.stderr


def test_mount_option_errors(pd: Run, busybox: str, tmp_path: Path) -> None:
    for spec, words in (("type=nfs,target=/x", "unknown type"),
                        ("type=cache", "target= is required"),
                        ("type=cache,target=/x,sharing=maybe", "sharing=maybe"),
                        ("type=tmpfs,target=/x,from=a", "not an option")):
        ctx = context(tmp_path / uuid.uuid4().hex[:6],
                      {"Containerfile": f"FROM {busybox}\nRUN --mount={spec} true\n"})
        done = pd("build", str(ctx), check=False)
        assert done.returncode == 125, done.stderr
        assert words in done.stderr and "Containerfile:2" in done.stderr, done.stderr
