"""`pdman build` as the unprivileged user: real RUN containers, real layers, the layer
cache, and the context's confinement."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


def inspect(pd: Run, image: str) -> dict[str, Any]:
    return json.loads(pd("image", "inspect", image).stdout)[0]  # type: ignore[no-any-return]


def image_ids(pd: Run) -> set[str]:
    return set(pd("images", "-a", "-q", "--no-trunc").stdout.split())


def test_multistage_build_then_run(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {
        "Containerfile": f"""# syntax=docker/dockerfile:1
ARG BASE={busybox}
FROM $BASE AS builder
WORKDIR /src
COPY greet.txt .
RUN echo '#!/bin/sh' > prog && echo "echo built in stage 1: $(cat greet.txt)" >> prog \\
    && chmod 755 prog
FROM {busybox} AS unused
RUN exit 3
FROM {busybox}
COPY --from=builder /src/prog /usr/local/bin/prog
CMD ["prog"]
""",
        "greet.txt": "hello"})
    done = pd("build", "-t", "multi:1", str(ctx))
    assert "STEP 1/" in done.stdout and "COMMIT multi:1" in done.stdout
    assert "RUN exit 3" not in done.stdout          # a stage the target does not need
    assert "Successfully tagged localhost/multi:1" in done.stdout
    out = pd("run", "--rm", "multi:1").stdout
    assert out == "built in stage 1: hello\n"
    # `image build` is the same verb; the cached rebuild gives the same image
    again = pd("image", "build", "-q", "-t", "multi:2", str(ctx)).stdout.split()
    assert again == [inspect(pd, "multi:1")["Id"].removeprefix("sha256:")]


def test_instructions_and_history(pd: Run, busybox: str, tmp_path: Path) -> None:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        data = b"from the archive\n"
        info = tarfile.TarInfo("inner/file.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    ctx = context(tmp_path / "ctx", {
        "Dockerfile": f"""FROM {busybox}
ARG WHO=nobody
ENV GREETING="hi $WHO" EMPTY=
LABEL org.example.who=$WHO
WORKDIR /app
COPY --chown=1000:1000 --chmod=750 script.sh ./
COPY dir/ /copied/
COPY *.cfg /cfgs/
ADD bundle.tar.gz /unpacked/
COPY <<EOF /etc/motd
heredoc ${{WHO}} '$WHO'
EOF
COPY <<'EOF' /etc/motd2
verbatim $WHO
EOF
SHELL ["/bin/sh", "-c"]
RUN <<EOF
echo "$GREETING" > /app/from-run
echo "arg=$WHO" >> /app/from-run
EOF
USER 1000
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGINT
HEALTHCHECK --interval=30s CMD true
ONBUILD RUN echo child
MAINTAINER tester
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/from-run"]
""",
        "script.sh": "#!/bin/sh\necho script\n",
        "dir/a.txt": "a\n", "dir/sub/b.txt": "b\n", "dir/skip.log": "x\n",
        "dir/keep.log": "kept\n",
        "one.cfg": "1\n", "two.cfg": "2\n",
        ".dockerignore": "**/*.log\n!dir/keep.log\n"})
    (ctx / "bundle.tar.gz").write_bytes(archive.getvalue())
    os.symlink("a.txt", ctx / "dir" / "link")
    done = pd("build", "--build-arg", "WHO=builder", "--label", "extra=yes", "-t", "all",
              str(ctx))
    assert "STEP 22/22" in done.stdout, done.stdout
    cfg = inspect(pd, "all")["Config"]
    assert "GREETING=hi builder" in cfg["Env"] and "EMPTY=" in cfg["Env"]
    assert cfg["Labels"]["org.example.who"] == "builder" and cfg["Labels"]["extra"] == "yes"
    assert cfg["WorkingDir"] == "/app" and cfg["User"] == "1000"
    assert set(cfg["ExposedPorts"]) == {"8080/tcp", "53/udp"}
    assert set(cfg["Volumes"]) == {"/data"} and cfg["StopSignal"] == "SIGINT"
    assert cfg["Entrypoint"] == ["/bin/sh", "-c"] and cfg["Cmd"] == ["cat /app/from-run"]
    assert cfg["Healthcheck"]["Test"] == ["CMD-SHELL", "true"]
    assert cfg["OnBuild"] == ["RUN echo child"]
    assert pd("run", "--rm", "all").stdout == "hi builder\narg=builder\n"
    script = "; ".join([
        "stat -c '%u:%g %a' /app/script.sh", "cat /copied/a.txt /copied/sub/b.txt",
        "ls /copied", "readlink /copied/link", "ls /cfgs", "cat /unpacked/inner/file.txt",
        "cat /etc/motd /etc/motd2"])
    out = pd("run", "--rm", "--user", "0", "all", script).stdout.split("\n")
    assert out[0] == "1000:1000 750"
    assert out[1:3] == ["a", "b"]
    listed = out[3:3 + 4]
    assert listed == ["a.txt", "keep.log", "link", "sub"]     # skip.log ignored, keep.log kept
    assert out[7] == "a.txt"                                   # a symlink stays a symlink
    assert out[8:10] == ["one.cfg", "two.cfg"]
    assert out[10] == "from the archive"
    assert out[11] == "heredoc builder 'builder'"              # unquoted: variables expanded
    assert out[12] == "verbatim $WHO"                          # quoted terminator: as written
    hist = inspect_config_history(pd, "all")
    base = len(inspect_config_history(pd, busybox))
    mine = hist[base:]
    assert len(mine) == 21                                     # one per instruction
    by = [h["created_by"] for h in mine]
    assert by[0] == "/bin/sh -c #(nop) ARG WHO=builder"
    assert any(b.startswith("|1 WHO=builder /bin/sh -c echo") for b in by)
    assert all(h.get("empty_layer") for h in mine if "#(nop) ENV" in h["created_by"])
    assert not any(h.get("empty_layer") for h in mine if "COPY" in h["created_by"])


def inspect_config_history(pd: Run, image: str) -> list[dict[str, Any]]:
    done = pd("image", "inspect", "--format", "{{json .History}}", image)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_cache_hits_and_invalidation(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {
        "Containerfile": f"""FROM {busybox}
RUN cat /proc/sys/kernel/random/uuid > /first
COPY data.txt /data.txt
RUN cat /proc/sys/kernel/random/uuid > /second
""",
        "data.txt": "one\n"})
    first = pd("build", "-t", "cached", "--iidfile", tmp_path / "iid", str(ctx))
    assert "Using cache" not in first.stdout
    image1 = first.stdout.split()[-1]
    assert (tmp_path / "iid").read_text() == "sha256:" + image1
    # the steps' images are intermediate: shown by `images -a` only, as podman does
    shown = pd("images", "-q", "--no-trunc").stdout.split()
    assert len(shown) == 2 and any(image1 in i for i in shown)
    assert len(pd("images", "-a", "-q").stdout.split()) > 2
    second = pd("build", "-t", "cached", str(ctx))
    assert second.stdout.count("--> Using cache") == 3
    assert second.stdout.split()[-1] == image1                   # nothing ran again
    stamps1 = pd("run", "--rm", "cached", "cat", "/first", "/second").stdout.split()
    (ctx / "data.txt").write_text("two\n")
    third = pd("build", "-t", "cached", str(ctx))
    assert third.stdout.count("--> Using cache") == 1            # only the RUN before COPY
    stamps2 = pd("run", "--rm", "cached", "cat", "/first", "/second").stdout.split()
    assert stamps2[0] == stamps1[0] and stamps2[1] != stamps1[1]
    assert pd("run", "--rm", "cached", "cat", "/data.txt").stdout == "two\n"
    fresh = pd("build", "--no-cache", "-t", "cached", str(ctx))
    assert "Using cache" not in fresh.stdout


def test_timestamp_gives_identical_images(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {
        "Containerfile": f"FROM {busybox}\nCOPY f /f\nRUN echo ran > /ran && mkdir /d\n"
                         "ENV A=b\n",
        "f": "content\n"})
    ids = []
    for tag in ("ts1", "ts2"):
        # the second time the Containerfile comes from stdin (-f -)
        args = ["-f", "-"] if tag == "ts2" else []
        done = pd("build", "--no-cache", "--timestamp", "1700000000", "-t", tag, *args,
                  str(ctx), input=(ctx / "Containerfile").read_text() if args else None)
        ids.append(done.stdout.split()[-1])
        os.utime(ctx / "f", (1, 1))                  # a source mtime does not matter either
    assert ids[0] == ids[1]
    assert inspect(pd, "ts1")["Created"].startswith("2023-11-14T22:13:20")


def test_failing_run_leaves_nothing(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {
        "Containerfile": f"FROM {busybox}\nENV A=b\nRUN echo before $A; exit 7\nCMD true\n"})
    before = image_ids(pd)
    done = pd("build", "-t", "broken", str(ctx), check=False)
    assert done.returncode == 1, done.stderr
    assert "status 7" in done.stderr and "Containerfile:3" in done.stderr
    assert "before b" in done.stdout
    assert pd("ps", "-a", "-q").stdout.strip() == ""
    assert image_ids(pd) == before
    assert pd("image", "exists", "broken", check=False).returncode != 0


def test_containerfile_errors_exit_125(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {busybox}\nFROBNICATE x\n"})
    done = pd("build", str(ctx), check=False)
    assert done.returncode == 125
    assert "Containerfile:2" in done.stderr and "FROBNICATE" in done.stderr
    (ctx / "Containerfile").write_text(f"FROM {busybox}\nCOPY ../outside /x\n")
    done = pd("build", str(ctx), check=False)
    assert done.returncode == 125 and "outside the build context" in done.stderr
    # an option not built yet is refused, never silently ignored
    (ctx / "Containerfile").write_text(f"FROM {busybox}\nRUN --frobnicate=yes true\n")
    done = pd("build", str(ctx), check=False)
    assert done.returncode == 125 and "--frobnicate is not supported" in done.stderr
    assert pd("ps", "-a", "-q").stdout.strip() == ""


def test_context_tar_on_stdin_and_run_network_none(pd: Run, busybox: str, tmp_path: Path,
                                                   registry_env: dict[str, str]) -> None:
    import shutil

    ctx = context(tmp_path / "ctx", {
        "Containerfile": f"FROM {busybox}\nCOPY msg /msg\n"
                         "RUN --network=none ls /sys/class/net > /nets\n",
        "msg": "from a tar on stdin\n"})
    archive = tmp_path / "ctx.tar"
    with tarfile.open(archive, "w") as tar:
        for name in ("Containerfile", "msg"):
            tar.add(ctx / name, arcname=name)
    exe = shutil.which("pdman", path=registry_env.get("PATH"))
    assert exe is not None
    with open(archive, "rb") as f:                           # binary stdin: not pd()'s text
        done = subprocess.run([exe, "build", "-t", "fromtar", "-"], stdin=f,
                              capture_output=True, env=registry_env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()
    out = pd("run", "--rm", "fromtar", "cat", "/msg", "/nets").stdout
    assert out.startswith("from a tar on stdin\n")
    assert out.split("\n")[1:] == ["lo", ""]               # RUN --network=none: loopback only


def test_symlinks_never_reach_host_files(pd: Run, busybox: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("HOST SECRET\n")
    ctx = context(tmp_path / "ctx", {"dir/plain": "ok\n"})
    os.symlink(str(secret), ctx / "leak")                    # a top-level source
    os.symlink(str(secret), ctx / "dir" / "leak")            # below a copied directory
    os.symlink("../../secret.txt", ctx / "dir" / "rel")
    (ctx / "Containerfile").write_text(f"FROM {busybox}\nCOPY dir /dir/\n")
    pd("build", "-t", "links", str(ctx))
    out = pd("run", "--rm", "links", "sh", "-c",
             "readlink /dir/leak; readlink /dir/rel; cat /dir/leak /dir/rel 2>&1; true").stdout
    assert "HOST SECRET" not in out
    assert str(secret) in out and "../../secret.txt" in out
    # the link itself as a source resolves inside the context: nothing there
    (ctx / "Containerfile").write_text(f"FROM {busybox}\nCOPY leak /leak\n")
    done = pd("build", "-t", "links2", str(ctx), check=False)
    if done.returncode == 0:
        assert "HOST SECRET" not in pd("run", "--rm", "links2", "cat", "/leak",
                                       check=False).stdout
    else:
        assert done.returncode == 125 and "no such file" in done.stderr


def test_run_layer_holds_only_what_the_command_made(pd: Run, busybox: str,
                                                    tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {"Containerfile": f"FROM {busybox}\nRUN touch /made\n"})
    pd("build", "-t", "probe", str(ctx))
    saved = tmp_path / "img.tar"
    pd("save", "-o", saved, "probe")
    with tarfile.open(saved) as t:
        manifest = json.load(t.extractfile("manifest.json"))  # type: ignore[arg-type]
        data = t.extractfile(manifest[0]["Layers"][-1]).read()  # type: ignore[union-attr]
    with tarfile.open(fileobj=io.BytesIO(data)) as layer:
        # not the runtime's mount targets (/etc/hosts, /run/.containerenv, ...)
        assert [m.name for m in layer] == ["made"]
    assert "/bin/sh -c touch /made" in pd("history", "probe").stdout


def test_onbuild_triggers_run_in_the_child(pd: Run, busybox: str, tmp_path: Path) -> None:
    parent = context(tmp_path / "parent", {
        "Containerfile": f"FROM {busybox}\nONBUILD COPY note /note\n"
                         "ONBUILD RUN echo triggered >> /note\n"})
    pd("build", "-t", "parent", str(parent))
    assert pd("run", "--rm", "parent", "ls", "/note", check=False).returncode != 0
    child = context(tmp_path / "child", {"Containerfile": "FROM parent\n", "note": "child\n"})
    pd("build", "-t", "child", str(child))
    assert pd("run", "--rm", "child", "cat", "/note").stdout == "child\ntriggered\n"
    assert inspect(pd, "child")["Config"].get("OnBuild") in (None, [])


def test_add_url_with_checksum(pd: Run, busybox: str, tmp_path: Path) -> None:
    """ADD of a URL (a server of the test's own, on 127.0.0.1): the file is not
    extracted, gets mode 0600, and --checksum is checked before it is used."""
    import functools
    import gzip as gz
    import hashlib
    import http.server
    import threading

    served = tmp_path / "served"
    served.mkdir()
    (served / "data.txt").write_text("downloaded\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("inside.txt")
        info.size = 3
        t.addfile(info, io.BytesIO(b"in\n"))
    (served / "payload.tar.gz").write_bytes(gz.compress(buf.getvalue()))
    digest = hashlib.sha256(b"downloaded\n").hexdigest()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        ctx = context(tmp_path / "ctx", {"Containerfile": f"""FROM {busybox}
ADD {base}/payload.tar.gz /opt/
ADD --checksum=sha256:{digest} {base}/data.txt /data.txt
"""})
        pd("build", "-t", "added", str(ctx))
        out = pd("run", "--rm", "added", "sh", "-c",
                 "stat -c '%a %s' /opt/payload.tar.gz; test -e /opt/inside.txt || echo "
                 "not-extracted; cat /data.txt").stdout
        size = (served / "payload.tar.gz").stat().st_size
        assert out == f"600 {size}\nnot-extracted\ndownloaded\n"
        for line, words in ((f"ADD --checksum=sha256:{'0' * 64} {base}/data.txt /d",
                             "checksum mismatch"),
                            (f"ADD {base}/nosuch.txt /d", "404"),
                            ("ADD --checksum=sha256:00 local.txt /d", "only for URL"),
                            (f"COPY {base}/data.txt /d", "COPY does not take URLs")):
            (ctx / "Containerfile").write_text(f"FROM {busybox}\n{line}\n")
            done = pd("build", str(ctx), check=False)
            assert done.returncode == 125, done.stderr
            assert words in done.stderr and "Containerfile:2" in done.stderr, done.stderr
    finally:
        server.shutdown()


def test_squash_and_squash_all(pd: Run, busybox: str, tmp_path: Path) -> None:
    ctx = context(tmp_path / "ctx", {
        "Containerfile": f"""FROM {busybox}
RUN mkdir /app && echo one > /app/one && echo gone > /app/gone
COPY two /app/two
RUN rm /app/gone /bin/vi && echo three > /app/three
ENV SQUASHED=yes
""",
        "two": "two\n"})

    def layers(image: str) -> int:
        return len(inspect(pd, image)["RootFS"]["Layers"])

    base = layers(busybox)
    pd("build", "-t", "layered", str(ctx))
    pd("build", "--squash", "-t", "squashed", str(ctx))
    pd("build", "--squash-all", "-t", "flat", str(ctx))
    assert layers("layered") == base + 3
    assert layers("squashed") == base + 1
    assert layers("flat") == 1
    for image in ("layered", "squashed", "flat"):
        out = pd("run", "--rm", image, "sh", "-c",
                 "cat /app/one /app/two /app/three; echo $SQUASHED; "
                 "test -e /app/gone || echo no-gone; test -e /bin/vi || echo no-vi").stdout
        assert out == "one\ntwo\nthree\nyes\nno-gone\nno-vi\n", image
        entries = inspect_config_history(pd, image)
        # one history entry per layer that is not empty, as the image spec wants
        assert sum(not e.get("empty_layer") for e in entries) == layers(image)
