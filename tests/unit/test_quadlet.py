"""The Quadlet generator (pdman/systemd): unit files in, services out, compared key by
key with what podman-systemd.unit(5) documents for the same keys (its "[Container]
options | podman run equivalent" table), and the refusals that name file and line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pdman.errors import UnitFileError
from pdman.systemd import generate as gen_systemd
from pdman.systemd import generator, quadlet
from pdman.systemd.unitfile import UnitFile, join_words, split_words

PDMAN = "/usr/bin/pdman"
#: every generated container's ExecStart starts so (Quadlet's `podman run --name
#: systemd-%N --cidfile=%t/%N.cid --replace --rm --cgroups=split --sdnotify=conmon -d`)
PREAMBLE = [PDMAN, "run", "--name=systemd-%N", "--cidfile=%t/%N.cid", "--replace", "--rm",
            "--cgroups=split", "--sdnotify=conmon", "-d", "--log-driver", "journald"]
#: (podman's default log driver on a systemd host is journald; pdman's is not, so the
#: generator asks for it unless LogDriver= is given)


def make(tmp_path: Path, files: dict[str, str], user: bool = True) -> generator.Result:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    found = generator.find_files([str(tmp_path)], user)
    return generator.generate(found, user, PDMAN)


def one(tmp_path: Path, name: str, text: str, others: dict[str, str] | None = None) -> UnitFile:
    result = make(tmp_path, {name: text, **(others or {})})
    assert not result.errors, [e.message for e in result.errors]
    return next(g.unit for g in result.units if g.source.name == name)


def exec_start(unit: UnitFile) -> list[str]:
    entry = unit.last("Service", "ExecStart")
    assert entry is not None
    return split_words(entry.value)


def container(tmp_path: Path, body: str, image: str = "docker.io/library/busybox") -> list[str]:
    return exec_start(one(tmp_path, "web.container",
                          f"[Container]\nImage={image}\n{body}\n"))


# key line -> the arguments podman-systemd.unit(5) says it becomes (between the preamble
# and the image). The doc's table, restricted to the options pdman's run has.
TABLE = [
    ("AddCapability=CAP_DAC_OVERRIDE CAP_IPC_OWNER",
     ["--cap-add", "cap_dac_override", "--cap-add", "cap_ipc_owner"]),
    ("DropCapability=CAP_NET_RAW", ["--cap-drop", "cap_net_raw"]),
    ("AddHost=example.com:192.168.10.11", ["--add-host", "example.com:192.168.10.11"]),
    ("ContainerName=web", None),  # replaces --name, see test_container_name
    ("DNS=192.168.55.1", ["--dns", "192.168.55.1"]),
    ("Entrypoint=/foo.sh", ["--entrypoint", "/foo.sh"]),
    ("Environment=foo=bar", ["--env", "foo=bar"]),
    ("EnvironmentFile=/tmp/env", ["--env-file", "/tmp/env"]),
    ("HostName=example.com", ["--hostname", "example.com"]),
    ("Label=XYZ=1", ["--label", "XYZ=1"]),
    ("LogDriver=journald", ["--log-driver", "journald"]),
    ("LogOpt=max-size=1m", ["--log-opt", "max-size=1m"]),
    ("Memory=20g", ["--memory", "20g"]),
    ("Mount=type=tmpfs,destination=/run", ["--mount", "type=tmpfs,destination=/run"]),
    ("Network=host", ["--network", "host"]),
    ("NetworkAlias=name", ["--network-alias", "name"]),
    ("NoNewPrivileges=true", ["--security-opt", "no-new-privileges"]),
    ("PidsLimit=10000", ["--pids-limit", "10000"]),
    ("PodmanArgs=--publish 8080:80", ["--publish", "8080:80"]),
    ("PublishPort=8080:80", ["--publish", "8080:80"]),
    ("Pull=never", ["--pull", "never"]),
    ("ReadOnly=true", ["--read-only"]),
    ("RunInit=true", ["--init"]),
    ("SeccompProfile=/tmp/s.json", ["--security-opt", "seccomp=/tmp/s.json"]),
    ("StopSignal=SIGINT", ["--stop-signal", "SIGINT"]),
    ("StopTimeout=20", ["--stop-timeout", "20"]),
    ("Tmpfs=/work", ["--tmpfs", "/work"]),
    ("Ulimit=nofile=1000:10000", ["--ulimit", "nofile=1000:10000"]),
    ("User=bin", ["--user", "bin"]),
    ("UserNS=host", ["--userns", "host"]),
    ("Volume=/source:/dest", ["-v", "/source:/dest"]),
    ("WorkingDir=/srv", ["--workdir", "/srv"]),
    ("AutoUpdate=registry", ["--label", "io.containers.autoupdate=registry"]),
    ("ReadOnly=false", []),
]


@pytest.mark.parametrize("line,expected", [t for t in TABLE if t[1] is not None],
                         ids=[t[0] for t in TABLE if t[1] is not None])
def test_container_key_becomes_the_documented_run_option(tmp_path: Path, line: str,
                                                          expected: list[str]) -> None:
    args = container(tmp_path, line)
    preamble = PREAMBLE[:-2] if line.startswith("LogDriver=") else PREAMBLE
    assert args == preamble + expected + ["docker.io/library/busybox"]


def test_container_service_lines_are_quadlets(tmp_path: Path) -> None:
    unit = one(tmp_path, "web.container",
               "[Unit]\nDescription=the web\n\n[Container]\nImage=busybox\n"
               "Exec=httpd -f -p 8080\n\n[Service]\nTimeoutStartSec=900\n\n"
               "[Install]\nWantedBy=default.target\n")
    svc = {e.key: e.value for e in unit.entries("Service")}
    assert svc["Environment"] == "PODMAN_SYSTEMD_UNIT=%n"
    assert svc["KillMode"] == "mixed"
    assert svc["Type"] == "notify"
    assert svc["NotifyAccess"] == "all"
    assert svc["Delegate"] == "yes"
    assert svc["SyslogIdentifier"] == "%N"
    assert svc["TimeoutStartSec"] == "900"                    # [Service] passes through
    assert split_words(svc["ExecStop"]) == [PDMAN, "rm", "-v", "-f", "-i", "-t", "10",
                                            "--cidfile=%t/%N.cid"]
    assert svc["ExecStopPost"].startswith("-") and \
        split_words(svc["ExecStopPost"][1:]) == split_words(svc["ExecStop"])
    assert exec_start(unit) == PREAMBLE + ["busybox", "httpd", "-f", "-p", "8080"]
    assert unit.last("Unit", "Description").value == "the web"  # type: ignore[union-attr]
    assert unit.last("Unit", "SourcePath").value == str(tmp_path / "web.container")  # type: ignore[union-attr]
    assert unit.last("Install", "WantedBy").value == "default.target"  # type: ignore[union-attr]
    assert unit.has("X-Container") and not unit.has("Container")


def test_a_users_type_wins(tmp_path: Path) -> None:
    unit = one(tmp_path, "job.container",
               "[Container]\nImage=busybox\nExec=true\n[Service]\nType=oneshot\n")
    assert [e.value for e in unit.entries("Service") if e.key == "Type"] == ["oneshot"]


def test_container_name_notify_and_stop_timeout(tmp_path: Path) -> None:
    unit = one(tmp_path, "web.container",
               "[Container]\nImage=busybox\nContainerName=web\nNotify=true\nStopTimeout=30\n")
    args = exec_start(unit)
    assert "--name=web" in args and "--sdnotify=container" in args
    assert "--sdnotify=conmon" not in args
    assert "-t" in (stop := split_words(unit.last("Service", "ExecStop").value))  # type: ignore[union-attr]
    assert stop[stop.index("-t") + 1] == "30"


def test_notify_healthy_waits_for_the_healthcheck(tmp_path: Path) -> None:
    unit = one(tmp_path, "web.container",
               "[Container]\nImage=busybox\nNotify=healthy\nHealthCmd=true\n")
    args = exec_start(unit)
    assert "--sdnotify=healthy" in args and "--sdnotify=conmon" not in args
    assert args[args.index("--health-cmd") + 1] == "true"
    assert unit.last("Service", "Type").value == "notify"  # type: ignore[union-attr]


def test_environment_labels_are_sorted_and_quoted(tmp_path: Path) -> None:
    args = container(tmp_path, 'Environment=B=2 "A=hello world"\nLabel=z=1 a=2')
    assert args[len(PREAMBLE):-1] == ["--env", "A=hello world", "--env", "B=2",
                                      "--label", "a=2", "--label", "z=1"]


def test_exec_and_continuation_lines(tmp_path: Path) -> None:
    args = container(tmp_path, "Exec=sh -c \\\n  'echo hi; sleep 1'")
    assert args[-3:] == ["sh", "-c", "echo hi; sleep 1"]


def test_group_with_user(tmp_path: Path) -> None:
    assert container(tmp_path, "User=1000\nGroup=100")[len(PREAMBLE):-1] == \
        ["--user", "1000:100"]


def test_relative_paths_are_resolved_from_the_unit_file(tmp_path: Path) -> None:
    args = container(tmp_path, "EnvironmentFile=env\nVolume=./data:/data")
    assert args[len(PREAMBLE):-1] == ["-v", f"{tmp_path}/data:/data",
                                      "--env-file", str(tmp_path / "env")]


def test_network_and_volume_files_become_dependencies(tmp_path: Path) -> None:
    result = make(tmp_path, {
        "web.container": "[Unit]\nAfter=db.container\n[Container]\nImage=busybox\n"
                         "Network=net.network\nVolume=data.volume:/data\n"
                         "Mount=type=volume,source=cache.volume,destination=/cache\n",
        "net.network": "[Network]\nSubnet=10.89.1.0/24\nGateway=10.89.1.1\nInternal=true\n"
                       "Label=a=b\n",
        "data.volume": "[Volume]\nLabel=k=v\n",
        "cache.volume": "[Volume]\nVolumeName=my-cache\n",
        "db.container": "[Container]\nImage=busybox\n",
    })
    assert not result.errors
    units = {g.service_name: g.unit for g in result.units}
    assert set(units) == {"web.service", "db.service", "net-network.service",
                          "data-volume.service", "cache-volume.service"}
    web = units["web.service"]
    args = exec_start(web)
    assert ["--network", "systemd-net"] == args[len(PREAMBLE):len(PREAMBLE) + 2]
    assert "systemd-data:/data" in args
    assert "type=volume,source=my-cache,destination=/cache" in args
    requires = {e.value for e in web.all("Unit", "Requires")}
    after = {e.value for e in web.all("Unit", "After")}
    assert requires == {"net-network.service", "data-volume.service", "cache-volume.service"}
    assert after == requires | {"db.service"}
    assert exec_start(units["net-network.service"]) == [
        PDMAN, "network", "create", "--ignore", "--subnet", "10.89.1.0/24",
        "--gateway", "10.89.1.1", "--internal", "--label", "a=b", "systemd-net"]
    assert exec_start(units["data-volume.service"]) == [
        PDMAN, "volume", "create", "--ignore", "--label", "k=v", "systemd-data"]
    assert exec_start(units["cache-volume.service"])[-1] == "my-cache"
    for name in ("net-network.service", "data-volume.service"):
        svc = {e.key: e.value for e in units[name].entries("Service")}
        assert (svc["Type"], svc["RemainAfterExit"]) == ("oneshot", "yes")


def test_image_file(tmp_path: Path) -> None:
    result = make(tmp_path, {
        "web.container": "[Container]\nImage=base.image\n",
        "base.image": "[Image]\nImage=quay.io/example/base:1\nArch=arm64\nTLSVerify=false\n",
    })
    assert not result.errors
    units = {g.service_name: g.unit for g in result.units}
    assert exec_start(units["base-image.service"]) == [
        PDMAN, "image", "pull", "--arch", "arm64", "--tls-verify=false",
        "quay.io/example/base:1"]
    assert exec_start(units["web.service"])[-1] == "quay.io/example/base:1"
    assert "base-image.service" in {e.value for e in units["web.service"].all("Unit", "Requires")}


@pytest.mark.parametrize("body,line,words", [
    ("[Container]\nImage=busybox\nFoo=bar\n", 3, "unsupported key 'Foo'"),
    ("[Container]\nExec=true\n", 0, "no Image key"),
    ("[Container]\nImage=busybox\nReadOnly=maybe\n", 3, "not a boolean"),
    ("[Container]\nImage=busybox\nGroup=100\n", 3, "Group= needs User="),
    ("[Container]\nImage=busybox\nEnvironment=NOEQUALS\n", 3, "is not KEY=VALUE"),
    ("[Container]\nImage=busybox\n\nExec=sh -c 'unterminated\n", 4, "unterminated quote"),
    ("[Container]\nImage=busybox\nAutoUpdate=sometimes\n", 3, "use registry or local"),
    ("[Container]\nImage=busybox\nPodmanArgs=--no-such-flag\n", 3, "--no-such-flag"),
    ("Image=busybox\n", 1, "outside any [Section]"),
    ("[Container]\nImage=busybox\njust words\n", 3, "expected KEY=VALUE"),
])
def test_a_bad_key_or_value_names_file_and_line_and_generates_nothing(
        tmp_path: Path, body: str, line: int, words: str) -> None:
    result = make(tmp_path, {"bad.container": body,
                             "good.container": "[Container]\nImage=busybox\n"})
    assert [g.service_name for g in result.units] == ["good.service"]
    [err] = result.errors
    assert isinstance(err, UnitFileError)
    where = f"{tmp_path}/bad.container" + (f":{line}:" if line else ":")
    assert err.message.startswith(where), err.message
    assert words in err.message


def test_an_option_pdman_lacks_is_refused_with_the_key(tmp_path: Path) -> None:
    known = quadlet.known_options("run")
    assert known is not None
    # a documented key whose podman option this pdman does not have (yet)
    missing = next(k for k, (flag, _) in quadlet.CONTAINER_OPTIONS.items() if flag not in known)
    result = make(tmp_path, {"x.container": f"[Container]\nImage=busybox\n{missing}=1\n"})
    assert not result.units
    assert f"x.container:3: {missing}= needs `pdman run" in result.errors[0].message


def test_generator_writes_units_and_install_links(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    (src / "web.container").write_text(
        "[Container]\nImage=busybox\n[Install]\nWantedBy=default.target multi-user.target\n"
        "Alias=www.service\n")
    (src / "bad.container").write_text("[Container]\nImage=busybox\nNope=1\n")
    os.environ["QUADLET_UNIT_DIRS"] = str(src)
    try:
        code = generator.run(["--user", "--no-kmsg-log", str(out), str(out), str(out)])
    finally:
        del os.environ["QUADLET_UNIT_DIRS"]
    assert code == 1                                 # one file failed
    assert sorted(p.name for p in out.iterdir()) == [
        "default.target.wants", "multi-user.target.wants", "web.service", "www.service"]
    assert os.readlink(out / "default.target.wants" / "web.service") == "../web.service"
    assert os.readlink(out / "www.service") == "web.service"
    assert (out / "web.service").read_text().count("ExecStart=") == 1


def test_dryrun_prints_units(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "web.container").write_text("[Container]\nImage=busybox\n")
    os.environ["QUADLET_UNIT_DIRS"] = str(tmp_path)
    try:
        assert generator.run(["--dryrun"]) == 0
    finally:
        del os.environ["QUADLET_UNIT_DIRS"]
    out = capsys.readouterr().out
    assert out.startswith("---web.service---\n[Unit]\n")
    assert "ExecStart=" in out


def test_search_paths_first_name_wins_and_dropins(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "sub").mkdir(parents=True)
    b.mkdir()
    (a / "sub" / "web.container").write_text("[Container]\nImage=first\n")
    (b / "web.container").write_text("[Container]\nImage=second\n")
    (b / "db.container").write_text("[Container]\nImage=db\n")
    (a / "sub" / "web.container.d").mkdir()
    (a / "sub" / "web.container.d" / "10-env.conf").write_text("[Container]\nEnvironment=X=1\n")
    (a / "sub" / "container.d").mkdir()
    (a / "sub" / "container.d" / "10-env.conf").write_text("[Container]\nEnvironment=X=0\n")
    files = generator.find_files([str(a), str(b)], user=True)
    assert files == [str(b / "db.container"), str(a / "sub" / "web.container")]
    result = generator.generate(files, True, PDMAN)
    web = next(g for g in result.units if g.service_name == "web.service")
    args = exec_start(web.unit)
    assert args[-1] == "first" and ["--env", "X=1"] == args[len(PREAMBLE):len(PREAMBLE) + 2]


def test_user_and_system_search_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUADLET_UNIT_DIRS", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/home/u/.config")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    user = generator.search_dirs(True)
    assert user[:4] == ["/run/user/1000/containers/systemd", "/home/u/.config/containers/systemd",
                        f"/etc/containers/systemd/users/{os.getuid()}",
                        "/etc/containers/systemd/users"]
    assert "/home/u/.config/pdman/systemd" in user
    system = generator.search_dirs(False)
    assert system[:3] == ["/run/containers/systemd", "/etc/containers/systemd",
                          "/usr/share/containers/systemd"]
    assert "/etc/pdman/systemd" in system


def test_unit_file_words_round_trip() -> None:
    words = ["a b", 'q"uote', "back\\slash", "%t/%N.cid", "plain", "new\nline", ""]
    assert split_words(join_words(words)) == words


def test_generate_systemd_new_rebuilds_the_run_line() -> None:
    cmd = ["/usr/bin/pdman", "--root", "/r", "run", "-dit", "--name", "web", "--rm",
           "--cidfile=/tmp/x", "-p", "8080:80", "--sdnotify", "ignore", "busybox",
           "httpd", "-f", "--rm"]
    assert gen_systemd.new_command(cmd, PDMAN, "web") == [
        PDMAN, "--root", "/r", "run", "--cidfile=%t/%n.ctr-id", "--cgroups=no-conmon", "--rm",
        "--sdnotify=conmon", "--replace", "-d", "-it", "--name", "web", "-p", "8080:80",
        "busybox", "httpd", "-f", "--rm"]
    text = gen_systemd.unit_text("web", "abc", {"create_command": cmd, "stop_timeout": 5},
                                 PDMAN, new=True, unit_name="container-web",
                                 restart_policy="on-failure", stop_timeout=None, header=False,
                                 version="0")
    unit = UnitFile.parse(text, "x")
    svc = {e.key: e.value for e in unit.entries("Service")}
    assert svc["Type"] == "notify" and svc["TimeoutStopSec"] == "65"
    assert split_words(svc["ExecStop"]) == [PDMAN, "stop", "--ignore", "-t", "5",
                                            "--cidfile=%t/%n.ctr-id"]
    old = UnitFile.parse(gen_systemd.unit_text(
        "web", "abc", {}, PDMAN, new=False, unit_name="container-web", restart_policy="always",
        stop_timeout=3, header=True, version="0"), "y")
    assert old.last("Service", "ExecStart").value == f"{PDMAN} start web"  # type: ignore[union-attr]
    assert old.last("Service", "Restart").value == "always"  # type: ignore[union-attr]
