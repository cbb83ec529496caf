"""`pdman secret` and `run --secret` as podman 4.3 has them (issue #13): the data is
stored 0600 in the user's store, shown to the container only (a read-only file at
/run/secrets/NAME, or an environment variable), never by `inspect` nor in a commit.
podman 4.3 on this host was run for the columns, words and exit codes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.bed.runner import run_pdman
from tests.compat.test_scripts import _pd

DATA = "s3cr3t-value"


def test_secret_commands(registry_env: dict[str, str], tmp_path: Path) -> None:
    pd = _pd(registry_env)
    src = tmp_path / "pw"
    src.write_text(DATA)
    sid = pd("secret", "create", "--label", "a=b", "pw", str(src)).stdout.strip()
    assert len(sid) == 25
    assert pd("secret", "create", "fromin", "-", input="other").returncode == 0
    env = {**registry_env, "MYSECRET": "from-env"}
    run_pdman("secret", "create", "--env", "fromenv", "MYSECRET", env=env)
    table = pd("secret", "ls").stdout.splitlines()
    assert table[0].split() == ["ID", "NAME", "DRIVER", "CREATED", "UPDATED"]
    assert any(ln.split()[:3] == [sid, "pw", "file"] for ln in table[1:])
    assert pd("secret", "ls", "-q", "--filter", "name=pw").stdout == sid + "\n"
    assert pd("secret", "ls", "--format", "{{.Name}} {{.Driver}}").stdout.split("\n")[0] == "pw file"
    info = json.loads(pd("secret", "inspect", "pw").stdout)[0]
    assert info["ID"] == sid and info["Spec"]["Name"] == "pw"
    assert info["Spec"]["Driver"]["Name"] == "file" and info["Spec"]["Labels"] == {"a": "b"}
    assert DATA not in pd("secret", "inspect", "pw").stdout
    assert pd("secret", "inspect", "--format", "{{.Spec.Name}}", sid[:10]).stdout == "pw\n"
    # stored 0600, in the user's store, and nowhere readable by others
    stored = [p for p in Path(registry_env["PDMAN_ROOT"]).rglob("*")
              if p.is_file() and DATA.encode() in p.read_bytes()]
    assert stored, "the secret's data is not in the store"
    for p in stored:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600 and p.stat().st_uid == os.getuid()
    # podman's words and codes
    dup = pd("secret", "create", "pw", str(src), check=False)
    assert dup.returncode == 125 and "pw: secret name in use" in dup.stderr
    missing = pd("secret", "inspect", "nosuch", check=False)
    assert missing.returncode == 125
    assert 'no secret with name or id "nosuch": no such secret' in missing.stderr
    assert pd("secret", "exists", "pw").returncode == 0
    assert pd("secret", "exists", "nosuch", check=False).returncode == 1
    assert pd("secret", "rm", "pw").stdout == sid + "\n"
    assert pd("secret", "rm", "pw", check=False).returncode == 125
    pd("secret", "rm", "--all")
    assert pd("secret", "ls", "-q").stdout == ""
    assert not any(p.exists() for p in stored)


def test_run_with_secrets(registry_env: dict[str, str], busybox: str, tmp_path: Path) -> None:
    pd = _pd(registry_env)
    pd("secret", "create", "pw", "-", input=DATA)
    out = pd("run", "--rm", "--secret", "pw", busybox, "sh", "-c",
             "cat /run/secrets/pw; echo; stat -c '%a %u' /run/secrets/pw; "
             "echo x > /run/secrets/pw 2>/dev/null || echo read-only").stdout.splitlines()
    assert out == [DATA, "444 0", "read-only"]
    out = pd("run", "--rm", "--secret", "pw,type=env,target=PW",
             "--secret", "pw,target=/etc/pw.conf,uid=12,gid=34,mode=0400", busybox, "sh", "-c",
             "echo $PW; stat -c '%a %u %g' /etc/pw.conf").stdout.splitlines()
    assert out == [DATA, "400 12 34"]
    # never in inspect, and not left in a committed image
    pd("run", "--name", "c", "--secret", "pw", "--secret", "pw,type=env", busybox,
       "sh", "-c", "test -s /run/secrets/pw && test -n \"$pw\"")
    assert DATA not in pd("inspect", "c").stdout
    pd("commit", "c", "localhost/with-secret:latest")
    leaked = pd("run", "--rm", "localhost/with-secret:latest", "sh", "-c",
                "cat /run/secrets/pw 2>/dev/null; env").stdout
    assert DATA not in leaked
    bad = pd("run", "--rm", "--secret", "nosuch", busybox, "true", check=False)
    assert bad.returncode == 125 and "no such secret" in bad.stderr
