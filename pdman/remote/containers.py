"""Remote handlers of the container verbs: the CLI's options in, Docker API calls out,
and the CLI's reports printed back (same columns and exit codes as a local run)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

import os
import sys

from pdman.errors import (CommandNotExecutableError, CommandNotFoundError, ContainerNotFound,
                          ImageNotFound, PdmanError, RemoteError, UsageError)
from pdman.remote.client import Client, demux
from pdman.remote.common import each_name, filters_param, refuse_unsupported, short_id


def _ports_text(ports: "list[dict[str, Any]]") -> str:
    from pdman.network.ports import format_ports

    mine = [{"host_ip": p.get("IP") or "", "host_port": int(p["PublicPort"]),
             "container_port": int(p["PrivatePort"]), "protocol": p.get("Type") or "tcp"}
            for p in ports or [] if p.get("PublicPort")]
    mine.sort(key=lambda p: (p["protocol"], p["container_port"], p["host_ip"]))
    return format_ports(mine)  # type: ignore[arg-type]


def _row(c: "dict[str, Any]") -> dict[str, Any]:
    names = [n.lstrip("/") for n in c.get("Names") or []]
    return {"ID": c["Id"], "Id": c["Id"], "Names": names[0] if names else "",
            "Image": c.get("Image", ""), "Command": c.get("Command", ""),
            "Created": c.get("Created", 0), "State": c.get("State", ""),
            "Status": c.get("Status", ""), "Ports": _ports_text(c.get("Ports") or []),
            "Labels": c.get("Labels") or {}, "SizeRw": int(c.get("SizeRw") or 0),
            "SizeRootFs": int(c.get("SizeRootFs") or 0)}


_PS_SORT = {"command": "Command", "id": "ID", "image": "Image", "names": "Names",
            "status": "Status"}


def ps(c: Client, all: bool, quiet: bool, no_trunc: bool, filter: "list[str] | None",
       format: str | None, last: int, latest: bool, external: bool = False,
       sort: str = "created", noheading: bool = False, size: bool = False, **rest: Any) -> int:
    from pdman.cli import output
    from pdman.cli.humanize import ago, container_size

    refuse_unsupported("ps", rest, set())
    params: dict[str, Any] = {"all": "1" if all else "0", **filters_param(filter)}
    if size:
        params["size"] = "1"
    if latest or last > 0:
        params["limit"] = "1" if latest else str(last)
    rows = [_row(x) for x in c.json("GET", "/containers/json", params=params)]
    for r in rows:
        r["Size"] = container_size(r.pop("SizeRw"), r.pop("SizeRootFs")) if size else ""
    if sort in _PS_SORT:
        rows.sort(key=lambda r: str(r[_PS_SORT[sort]]))
    elif sort not in ("created", "runningfor", "size"):
        raise UsageError(f"invalid option for --sort, options are: command, created, id, "
                         f"image, names, runningfor, size, or status: {sort!r}")
    if quiet:
        for r in rows:
            print(short_id(r["ID"], no_trunc))
        return 0
    if format == "json":
        output.print_json(rows)
        return 0
    cmd = (lambda t: t if no_trunc or len(t) <= 20 else t[:17] + "...")
    if format:
        output.print_formatted(format, [{**r, "ID": short_id(r["ID"], no_trunc),
                                         "CreatedHuman": ago(r["Created"]),
                                         "RunningFor": ago(r["Created"])} for r in rows],
                               header=not noheading,
                               headers={"ID": "CONTAINER ID", "CreatedHuman": "CREATED",
                                        "RunningFor": "CREATED"})
        return 0
    output.print_table(
        ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
        + (["SIZE"] if size else []),
        [[short_id(r["ID"], no_trunc), r["Image"], cmd(r["Command"]), ago(r["Created"]),
          r["Status"], r["Ports"], r["Names"]] + ([r["Size"]] if size else []) for r in rows],
        header=not noheading)
    return 0


# ---- create / run

_CREATE_SUPPORTED = {
    "name", "env", "env_file", "workdir", "user", "entrypoint", "hostname", "tty", "init",
    "read_only", "tmpfs", "volume", "cap_add", "cap_drop", "privileged", "security_opt",
    "label", "pull", "network", "stop_signal", "stop_timeout", "quiet", "rm", "publish",
    "publish_all", "dns", "add_host", "memory", "pids_limit", "cidfile", "replace",
    "detach", "platform", "log_driver", "sig_proxy", "cgroups",
}


def _env(values: "list[str] | None", files: "list[str] | None") -> list[str]:
    """-e and --env-file as the client reads them (docker's CLI too): `-e NAME` takes
    NAME's value from the client's environment."""
    out: list[str] = []
    for path in files or []:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as exc:
            raise UsageError(f"reading --env-file {path}: {exc.strerror}") from None
        for line in lines:
            line = line.strip()
            if line and not line.startswith("#"):
                out.extend(_env([line], None))
    for e in values or []:
        if "=" in e:
            out.append(e)
        elif e in os.environ:
            out.append(f"{e}={os.environ[e]}")
    return out


def _port_bindings(publish: "list[str] | None") -> "tuple[dict[str, Any], dict[str, Any]]":
    from pdman.network.ports import parse_publish

    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in publish or []:
        for p in parse_publish(spec):
            key = f"{p['container_port']}/{p.get('protocol', 'tcp')}"
            exposed[key] = {}
            hp = p.get("host_port") or 0
            bindings.setdefault(key, []).append(
                {"HostIp": p.get("host_ip") or "", "HostPort": str(hp) if hp else ""})
    return exposed, bindings


def _kv(items: "list[str] | None", what: str) -> dict[str, str]:
    out = {}
    for it in items or []:
        k, _, v = it.partition("=")
        if not k:
            raise UsageError(f"invalid {what} {it!r}", hint="use KEY=VALUE")
        out[k] = v
    return out


def _create_body(image: str, command: "list[str] | None", kw: dict[str, Any],
                 auto_remove: bool) -> dict[str, Any]:
    exposed, bindings = _port_bindings(kw.get("publish"))
    host: dict[str, Any] = {
        "Binds": list(kw.get("volume") or []), "PortBindings": bindings,
        "PublishAllPorts": bool(kw.get("publish_all")), "AutoRemove": auto_remove,
        "Privileged": bool(kw.get("privileged")), "ReadonlyRootfs": bool(kw.get("read_only")),
        "CapAdd": list(kw.get("cap_add") or []), "CapDrop": list(kw.get("cap_drop") or []),
        "SecurityOpt": list(kw.get("security_opt") or []), "Dns": list(kw.get("dns") or []),
        "ExtraHosts": list(kw.get("add_host") or []),
    }
    for b in host["Binds"]:
        src = b.split(":", 1)[0]
        if src.startswith((".", "~")):
            raise UsageError(f"-v {b}: a relative host path means nothing on the remote host",
                             hint="give an absolute path on the service's host, or a volume name")
    if kw.get("init"):
        host["Init"] = True
    if kw.get("tmpfs"):
        host["Tmpfs"] = {t.split(":", 1)[0]: t.partition(":")[2] for t in kw["tmpfs"]}
    if kw.get("network"):
        nets = kw["network"] if isinstance(kw["network"], (list, tuple)) else [kw["network"]]
        if len(nets) > 1:
            raise UsageError("--network given more than once: the API's create takes one "
                             "network mode", hint="create with one --network, then `pdman "
                             "network connect` the others")
        host["NetworkMode"] = str(nets[0])
    if kw.get("memory"):
        from pdman.engine.runopts import memory_bytes

        host["Memory"] = memory_bytes(str(kw["memory"]))
    if kw.get("pids_limit") is not None:
        host["PidsLimit"] = int(kw["pids_limit"])
    body: dict[str, Any] = {
        "Image": image, "Env": _env(kw.get("env"), kw.get("env_file")),
        "Labels": _kv(kw.get("label"), "label"), "Tty": bool(kw.get("tty")),
        "OpenStdin": bool(kw.get("interactive")), "StdinOnce": bool(kw.get("interactive")),
        "AttachStdin": bool(kw.get("interactive")) and not kw.get("detach"),
        "AttachStdout": not kw.get("detach"), "AttachStderr": not kw.get("detach"),
        "ExposedPorts": exposed, "HostConfig": host,
    }
    if command:
        body["Cmd"] = list(command)
    if kw.get("entrypoint") is not None:
        ep = str(kw["entrypoint"])
        if ep.startswith("["):
            import json

            body["Entrypoint"] = json.loads(ep)
        else:
            body["Entrypoint"] = [ep] if ep else [""]
    for opt, field in (("workdir", "WorkingDir"), ("user", "User"), ("hostname", "Hostname"),
                       ("stop_signal", "StopSignal")):
        if kw.get(opt):
            body[field] = str(kw[opt])
    if kw.get("stop_timeout") is not None:
        body["StopTimeout"] = int(kw["stop_timeout"])
    return body


def _pull_into(c: Client, image: str, quiet: bool, platform: str | None = None) -> str:
    from pdman.remote.images import pull_stream

    return pull_stream(c, image, quiet, platform)


def _create(c: Client, image: str, command: "list[str] | None", kw: dict[str, Any],
            auto_remove: bool, verb: str) -> str:
    if kw.get("tls_verify") is not None:
        raise RemoteError(f"`{verb} --tls-verify` is not supported through a remote connection",
                          hint="the service's own registries.conf decides on TLS")
    refuse_unsupported(verb, {k: v for k, v in kw.items()
                              if k not in ("interactive", "tls_verify")}, _CREATE_SUPPORTED)
    policy = str(kw.get("pull") or "missing")
    if policy not in ("missing", "always", "never", "newer"):
        raise UsageError(f"invalid --pull policy {policy!r}", hint="use missing, always or never")
    if kw.get("replace") and kw.get("name"):
        try:
            c.request("DELETE", f"/containers/{kw['name']}", "container", params={"force": "1"})
        except ContainerNotFound:
            pass
    if policy == "always":
        _pull_into(c, image, bool(kw.get("quiet")), kw.get("platform"))
    body = _create_body(image, command, kw, auto_remove)
    params = {"name": str(kw["name"])} if kw.get("name") else {}
    try:
        res = c.json("POST", "/containers/create", "image", params=params, body=body)
    except ImageNotFound:
        if policy == "never":
            raise
        _pull_into(c, image, bool(kw.get("quiet")), kw.get("platform"))
        res = c.json("POST", "/containers/create", "image", params=params, body=body)
    for w in res.get("Warnings") or []:
        print(f"WARNING: {w}", file=sys.stderr)
    cid = str(res["Id"])
    if kw.get("cidfile"):
        from pdman.cli.handlers.containers import _write_cidfile

        _write_cidfile(str(kw["cidfile"]), cid)
    return cid


def _start(c: Client, cid: str) -> None:
    """Start; a command that cannot run exits 126/127 as locally (docker's CLI maps the
    runtime's words the same way)."""
    try:
        c.request("POST", f"/containers/{cid}/start", "container")
    except PdmanError as exc:
        text = exc.message.lower()
        if "permission denied" in text:
            raise CommandNotExecutableError(exc.message) from None
        if ("executable file not found" in text or "no such file or directory" in text
                or "not found in $path" in text):
            raise CommandNotFoundError(exc.message) from None
        raise


def _check_cidfile(kw: dict[str, Any]) -> None:
    if kw.get("cidfile") and os.path.exists(str(kw["cidfile"])):
        raise UsageError(f"container id file exists. Ensure another container is not "
                         f"using it or delete {kw['cidfile']}")


def run(c: Client, image: str, command: "list[str] | None", **kw: Any) -> int:
    """`run`: create, then in the foreground attach before the start (as docker's CLI
    does: the attach stream ends when the container does, where a followed logs stream
    of a container that ended at once could stay open on podman's service), wait for
    the exit code, and remove it with --rm. The client removes it rather than the
    service's AutoRemove, so no output and no exit code is lost to a container gone
    before it was read."""
    _check_cidfile(kw)
    detach = bool(kw.get("detach"))
    cid = _create(c, image, command, kw, auto_remove=detach and bool(kw.get("rm")), verb="run")
    if not detach:
        return _run_attached(c, cid, kw)
    try:
        _start(c, cid)
    except PdmanError:
        if kw.get("rm"):
            _remove_quietly(c, cid)
        raise
    print(cid)
    return 0


def _run_attached(c: Client, cid: str, kw: dict[str, Any]) -> int:
    """`run [-i[t]]`: attach (hijacked) before the start, as docker's CLI does, so no
    output is missed and stdin (with -i) reaches the first read."""
    from pdman.remote.attach import hijack, session

    stdin = bool(kw.get("interactive"))
    try:
        sock, early = hijack(c, f"/containers/{cid}/attach",
                             {"stream": "1", "stdin": "1" if stdin else "0", "stdout": "1",
                              "stderr": "1"})
        try:
            _start(c, cid)
        except PdmanError:
            sock.close()
            raise
        session(c, sock, early, bool(kw.get("tty")), stdin, f"/containers/{cid}/resize")
        res = c.json("POST", f"/containers/{cid}/wait", "container")
        return int(res.get("StatusCode", 0))
    finally:
        if kw.get("rm"):
            _remove_quietly(c, cid)


def _attach_and(c: Client, name: str, stdin: bool, start: bool) -> int:
    """`start -a[i]` and `attach`: the container's streams until it ends; its exit code."""
    from pdman.remote.attach import hijack, session

    doc = c.json("GET", f"/containers/{name}/json", "container")
    cid, tty = doc["Id"], bool((doc.get("Config") or {}).get("Tty"))
    stdin = stdin and bool((doc.get("Config") or {}).get("OpenStdin"))
    sock, early = hijack(c, f"/containers/{cid}/attach",
                         {"stream": "1", "stdin": "1" if stdin else "0", "stdout": "1",
                          "stderr": "1"})
    if start:
        try:
            _start(c, cid)
        except PdmanError:
            sock.close()
            raise
    session(c, sock, early, tty, stdin, f"/containers/{cid}/resize")
    return int(c.json("POST", f"/containers/{cid}/wait", "container").get("StatusCode", 0))


def attach(c: Client, container: str, detach_keys: str | None, no_stdin: bool,
           sig_proxy: bool, **rest: Any) -> int:
    refuse_unsupported("attach", rest, set())
    return _attach_and(c, container, not no_stdin, start=False)


def _remove_quietly(c: Client, cid: str) -> None:
    try:
        c.request("DELETE", f"/containers/{cid}", "container", params={"force": "1"})
    except PdmanError:
        pass


def create(c: Client, image: str, command: "list[str] | None", **kw: Any) -> int:
    _check_cidfile(kw)
    print(_create(c, image, command, kw, auto_remove=bool(kw.get("rm")), verb="create"))
    return 0


def _all_ids(c: Client, running_only: bool) -> list[str]:
    rows = c.json("GET", "/containers/json", params={"all": "0" if running_only else "1"})
    return [r["Id"] for r in rows]


def start(c: Client, containers: "list[str] | None", attach: bool, interactive: bool,
          all: bool = False, filter: "list[str] | None" = None, **rest: Any) -> int:
    refuse_unsupported("start", rest, set())
    if all or filter:
        if containers:
            raise UsageError("--all and --filter take no container names",
                             hint="give names, or --all/--filter")
        rows = c.json("GET", "/containers/json", params={"all": "1", **filters_param(filter)})
        containers = [r["Id"] for r in rows if r.get("State") not in ("running", "paused")]
    elif not containers:
        raise UsageError("`start` needs at least one container name or ID", hint="or pass --all")
    if attach or interactive:
        if len(containers) != 1:
            raise UsageError("you cannot start and attach multiple containers at once",
                             hint="give one container with -a/-i")
        return _attach_and(c, containers[0], interactive, start=True)

    def one(name: str) -> str:
        _start(c, name)
        return name

    return each_name(containers, one)


def rm(c: Client, containers: "list[str] | None", force: bool, volumes: bool, all: bool,
       ignore: bool = False, time: int | None = None, cidfile: "list[str] | None" = None,
       depend: bool = False, **rest: Any) -> int:
    from pdman.cli.handlers.common import with_cidfiles

    refuse_unsupported("rm", rest, set())
    containers = with_cidfiles(containers, cidfile, ignore)
    if all:
        containers = _all_ids(c, running_only=False)
    elif cidfile and not containers:
        return 0
    elif not containers:
        raise UsageError("`rm` needs at least one container name or ID", hint="or pass --all")

    def one(name: str) -> str:
        if force and time:
            c.request("POST", f"/containers/{name}/stop", "container", params={"t": str(time)})
        c.request("DELETE", f"/containers/{name}", "container",
                  params={"force": "1" if force else "0", "v": "1" if volumes else "0",
                          **({"depend": "1"} if depend else {})})
        return name

    return each_name(containers, one, not_found_exit=1, ignore_missing=ignore)


def _targets(c: Client, containers: "list[str] | None", all: bool,
             running_only: bool = True) -> list[str]:
    if all:
        return _all_ids(c, running_only)
    if not containers:
        raise UsageError("give at least one container name or ID", hint="or pass --all")
    return containers


def stop(c: Client, containers: "list[str] | None", time: int | None, all: bool,
         ignore: bool, cidfile: "list[str] | None" = None, **rest: Any) -> int:
    from pdman.cli.handlers.common import with_cidfiles

    refuse_unsupported("stop", rest, set())
    containers = with_cidfiles(containers, cidfile, ignore)
    if cidfile and not containers and not all:
        return 0
    params = {"t": str(time)} if time is not None else {}

    def one(name: str) -> str:
        c.request("POST", f"/containers/{name}/stop", "container", params=params)
        return name

    return each_name(_targets(c, containers, all), one, ignore_missing=ignore)


def kill(c: Client, containers: "list[str] | None", signal: str, all: bool,
         cidfile: "list[str] | None" = None, **rest: Any) -> int:
    from pdman.cli.handlers.common import with_cidfiles

    refuse_unsupported("kill", rest, set())
    containers = with_cidfiles(containers, cidfile)

    def one(name: str) -> str:
        c.request("POST", f"/containers/{name}/kill", "container", params={"signal": signal})
        return name

    return each_name(_targets(c, containers, all), one)


def restart(c: Client, containers: "list[str] | None", time: int | None, all: bool,
            running: bool, cidfile: "list[str] | None" = None, **rest: Any) -> int:
    from pdman.cli.handlers.common import with_cidfiles

    refuse_unsupported("restart", rest, set())
    containers = with_cidfiles(containers, cidfile)
    params = {"t": str(time)} if time is not None else {}

    def one(name: str) -> str:
        c.request("POST", f"/containers/{name}/restart", "container", params=params)
        return name

    return each_name(_targets(c, containers, all, running_only=running), one)


def _verb(c: Client, containers: "list[str]", verb: str) -> int:
    def one(name: str) -> str:
        c.request("POST", f"/containers/{name}/{verb}", "container")
        return name

    return each_name(containers, one)


def pause(c: Client, containers: "list[str]", **rest: Any) -> int:
    refuse_unsupported("pause", rest, set())
    return _verb(c, containers, "pause")


def unpause(c: Client, containers: "list[str]", **rest: Any) -> int:
    refuse_unsupported("unpause", rest, set())
    return _verb(c, containers, "unpause")


def inspect(c: Client, containers: "list[str]", format: str | None, size: bool = False,
            **rest: Any) -> int:
    from pdman.cli import output

    docs: list[Any] = []
    params = {"size": "1"} if size else None
    code = each_name(containers, lambda n: docs.append(
        c.json("GET", f"/containers/{n}/json", "container", params=params)))
    if format and format != "json":
        output.print_formatted(format, docs)
    else:
        output.print_json(docs)
    return code


def exists(c: Client, container: str, external: bool = False) -> int:
    try:
        c.json("GET", f"/containers/{container}/json", "container")
    except ContainerNotFound:
        return 1
    return 0


def rename(c: Client, container: str, new_name: str) -> int:
    c.request("POST", f"/containers/{container}/rename", "container", params={"name": new_name})
    return 0


def wait(c: Client, containers: "list[str]", condition: "list[str] | None", interval: str) -> int:
    conds = list(condition or ["stopped"])
    if conds not in (["stopped"], ["exited"]):
        raise RemoteError("`wait --condition` other than stopped is not supported through a "
                          "remote connection")
    return each_name(containers, lambda n: c.json(
        "POST", f"/containers/{n}/wait", "container").get("StatusCode", 0))


def logs(c: Client, containers: "list[str]", follow: bool, since: str | None,
         until: str | None, tail: str, timestamps: bool, names: bool = False,
         color: bool = False, **rest: Any) -> int:
    refuse_unsupported("logs", rest, set())
    if tail.strip().lower() != "all":
        try:
            int(tail)
        except ValueError:
            raise UsageError(f"invalid --tail {tail!r}", hint="a number of lines, or all") from None
    if follow and len(containers) > 1:
        raise RemoteError("`logs -f` of several containers is not supported through a remote "
                          "connection yet", hint="follow one container per command")
    params: dict[str, str] = {"stdout": "1", "stderr": "1", "follow": "1" if follow else "0",
                              "timestamps": "1" if timestamps else "0"}
    if tail.strip().lower() != "all" and int(tail) >= 0:
        params["tail"] = str(int(tail))
    if since:
        params["since"] = since
    if until:
        params["until"] = until
    for name in containers:
        doc = c.json("GET", f"/containers/{name}/json", "container")
        tty = bool((doc.get("Config") or {}).get("Tty"))
        try:
            demux(c.stream("GET", f"/containers/{name}/logs", "container", params=params),
                  sys.stdout.buffer, sys.stderr.buffer, tty)
        except KeyboardInterrupt:
            return 0
    return 0


def exec_(c: Client, container: str, command: "list[str]", interactive: bool, tty: bool,
          env: "list[str] | None", env_file: "list[str] | None", user: str | None,
          workdir: str | None, detach: bool, privileged: bool, detach_keys: str | None,
          **rest: Any) -> int:
    refuse_unsupported("exec", rest, set())
    body: dict[str, Any] = {"Cmd": list(command), "AttachStdin": interactive and not detach,
                            "AttachStdout": not detach, "AttachStderr": not detach,
                            "Tty": tty, "Env": _env(env, env_file), "Privileged": privileged}
    if user:
        body["User"] = user
    if workdir:
        body["WorkingDir"] = workdir
    exec_id = c.json("POST", f"/containers/{container}/exec", "container", body=body)["Id"]
    try:
        if interactive and not detach:
            from pdman.remote.attach import hijack, session

            sock, early = hijack(c, f"/exec/{exec_id}/start", body={"Detach": False, "Tty": tty})
            session(c, sock, early, tty, True, f"/exec/{exec_id}/resize")
        else:
            stream = c.stream("POST", f"/exec/{exec_id}/start", "container",
                              body={"Detach": detach, "Tty": tty})
            demux(stream, sys.stdout.buffer, sys.stderr.buffer, tty)
    except PdmanError as exc:
        text = exc.message.lower()
        if "permission denied" in text:
            raise CommandNotExecutableError(exc.message) from None
        if "not found" in text and "container" not in text:
            raise CommandNotFoundError(exc.message) from None
        raise
    if detach:
        print(exec_id)
        return 0
    info = c.json("GET", f"/exec/{exec_id}/json")
    code = info.get("ExitCode")
    return int(code) if code is not None else 0
