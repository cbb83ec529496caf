"""The API service's state between requests (issue #14): the container list it keeps
parsed follows changes other processes make to the catalog; exec sessions answer
ExecInspect after the exec ended, across a restart of the service, until their
container goes; NetworkSettings.Networks names the network mode of containers that
are on no network of pdman's; /events filters with docker's rules.
"""

from __future__ import annotations

import json
import os
import time
from urllib.parse import quote

from tests.bed.apiservice import Service, service, start_service, stop_service  # noqa: F401
from tests.bed.runner import run_pdman


def _names(service: Service, all: bool = False) -> list[str]:
    status, _, body = service.request("GET", "/v1.41/containers/json" + ("?all=1" if all else ""))
    assert status == 200, body
    return sorted(n.lstrip("/") for c in json.loads(body) for n in c["Names"])


def test_container_list_follows_other_processes(service: Service, busybox: str) -> None:
    """The service parses the list once per catalog change: every change made by
    another process (the CLI) shows in the next answer."""
    assert _names(service) == []
    run_pdman("run", "-d", "--name", "one", "--network", "none", busybox, "sleep", "600",
              env=service.env)
    assert _names(service) == ["one"]
    assert _names(service) == ["one"]                      # the kept list, unchanged
    run_pdman("create", "--name", "two", "--network", "none", busybox, "true",
              env=service.env)
    assert _names(service) == ["one"] and _names(service, all=True) == ["one", "two"]
    run_pdman("rename", "two", "three", env=service.env)
    assert _names(service, all=True) == ["one", "three"]
    run_pdman("stop", "-t", "0", "one", env=service.env)
    assert _names(service) == []
    status, _, body = service.request("GET", "/containers/json?all=1")
    states = {c["Names"][0]: c["State"] for c in json.loads(body)}
    assert states == {"/one": "exited", "/three": "created"}
    # the container's process killed behind everyone's back: its monitor records the
    # exit, and the list shows it
    run_pdman("start", "one", env=service.env)
    assert _names(service) == ["one"]
    pid = json.loads(run_pdman("inspect", "one", env=service.env).stdout)[0]["State"]["Pid"]
    os.kill(pid, 9)
    deadline = time.monotonic() + 30
    while _names(service) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _names(service) == []
    run_pdman("rm", "-f", "one", "three", env=service.env)
    assert _names(service, all=True) == []


def _exec(service: Service, container: str, cmd: list[str]) -> str:
    status, _, body = service.request("POST", f"/containers/{container}/exec",
                                      {"Cmd": cmd, "AttachStdout": True})
    assert status == 201, body
    return str(json.loads(body)["Id"])


def _inspect_exec(service: Service, exec_id: str) -> "tuple[int, dict]":
    status, _, body = service.request("GET", f"/exec/{exec_id}/json")
    return status, json.loads(body)


def test_exec_sessions_outlive_the_exec_and_the_service(service: Service,
                                                        busybox: str) -> None:
    run_pdman("run", "-d", "--name", "ex", "--network", "none", busybox, "sleep", "600",
              env=service.env)
    done = _exec(service, "ex", ["sh", "-c", "exit 7"])
    status, _, _ = service.request("POST", f"/exec/{done}/start", {"Detach": True})
    assert status in (200, 204)
    deadline = time.monotonic() + 30
    while _inspect_exec(service, done)[1]["Running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    status, doc = _inspect_exec(service, done)
    cid = json.loads(run_pdman("inspect", "ex", env=service.env).stdout)[0]["Id"]
    assert (status, doc["Running"], doc["ExitCode"], doc["ContainerID"]) == (200, False, 7, cid)
    waiting = _exec(service, "ex", ["true"])          # created, never started

    # a new service on the same store (socket activation starts one per idle period)
    stop_service(service.proc)
    proc, _ = start_service(service.env, "--time", "0", sock=service.sock)
    try:
        _after_restart(service, done, waiting, busybox)
    finally:
        stop_service(proc)


def _after_restart(service: Service, done: str, waiting: str, busybox: str) -> None:
    status, doc = _inspect_exec(service, done)
    assert (status, doc["Running"], doc["ExitCode"]) == (200, False, 7)
    assert doc["ProcessConfig"]["entrypoint"] == "sh"
    status, doc = _inspect_exec(service, waiting)
    assert (status, doc["Running"], doc["ExitCode"]) == (200, False, None)
    # started by the new service, its end recorded
    status, _, _ = service.request("POST", f"/exec/{waiting}/start", {"Detach": True})
    deadline = time.monotonic() + 30
    while _inspect_exec(service, waiting)[1]["ExitCode"] is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _inspect_exec(service, waiting)[1]["ExitCode"] == 0
    # a session runs once
    status, _, body = service.request("POST", f"/exec/{done}/start", {"Detach": True})
    assert status == 409, body

    # the container removed: its sessions go with it (at the next exec's create)
    run_pdman("rm", "-f", "ex", env=service.env)
    run_pdman("run", "-d", "--name", "ex2", "--network", "none", busybox, "sleep", "600",
              env=service.env)
    _exec(service, "ex2", ["true"])
    assert _inspect_exec(service, done)[0] == 404
    assert _inspect_exec(service, "ab" * 32)[0] == 404
    assert _inspect_exec(service, "../../etc")[0] == 404
    run_pdman("rm", "-f", "ex2", env=service.env)


def test_network_settings_name_the_mode(service: Service, busybox: str) -> None:
    """docker shows `host`/`none` entries, podman its user-mode network's name; the
    address of a pasta container is the one it has inside."""
    run_pdman("run", "-d", "--name", "pst", busybox, "sleep", "600", env=service.env)
    run_pdman("run", "-d", "--name", "nonet", "--network", "none", busybox, "sleep", "600",
              env=service.env)
    status, _, body = service.request("GET", "/containers/pst/json")
    nets = json.loads(body)["NetworkSettings"]["Networks"]
    assert list(nets) == ["pasta"]
    inside = run_pdman("exec", "pst", "ip", "-4", "addr", "show", env=service.env).stdout
    addrs = [ln.split()[1].split("/")[0] for ln in inside.splitlines()
             if ln.split()[:1] == ["inet"] and not ln.split()[1].startswith("127.")]
    assert nets["pasta"]["IPAddress"] in addrs and nets["pasta"]["IPPrefixLen"] > 0, \
        (nets, inside)
    route = run_pdman("exec", "pst", "ip", "-4", "route", "show", "default",
                      env=service.env).stdout.split()
    assert nets["pasta"]["Gateway"] == route[route.index("via") + 1]
    assert json.loads(body)["NetworkSettings"]["IPAddress"] == nets["pasta"]["IPAddress"]
    status, _, body = service.request("GET", "/containers/nonet/json")
    nets = json.loads(body)["NetworkSettings"]["Networks"]
    assert list(nets) == ["none"] and nets["none"]["IPAddress"] == ""
    # docker's CLI template idiom for a container's address
    fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
    assert service.docker("inspect", "-f", fmt, "pst").stdout.strip() in addrs
    run_pdman("rm", "-f", "pst", "nonet", env=service.env)


def _events(service: Service, filters: dict) -> list[dict]:
    now = time.time()
    status, _, body = service.request(
        "GET", f"/v1.41/events?since=0&until={now:.3f}&filters={quote(json.dumps(filters))}")
    assert status == 200, body
    return [json.loads(ln) for ln in body.splitlines() if ln.strip()]


def test_events_filters_are_dockers(service: Service, busybox: str) -> None:
    run_pdman("run", "--name", "lab-both", "--network", "none", "--label", "a=1",
              "--label", "b=2", busybox, "true", env=service.env)
    run_pdman("run", "--name", "lab-a", "--network", "none", "--label", "a=1", busybox,
              "true", env=service.env)
    run_pdman("volume", "create", "lab-vol", env=service.env)

    def names(evs: list[dict]) -> set[str]:
        return {e["Actor"]["Attributes"].get("name", "") for e in evs}

    # every label given must match (docker's rule; values of other keys are OR)
    assert names(_events(service, {"label": ["a=1", "b=2"]})) == {"lab-both"}
    assert names(_events(service, {"label": ["a=1"]})) == {"lab-both", "lab-a"}
    # container: ID or name, by prefix, and only that container's events
    evs = _events(service, {"container": ["lab-b"]})
    assert evs and names(evs) == {"lab-both"} and {e["Type"] for e in evs} == {"container"}
    assert {e["Action"] for e in evs} >= {"create", "start", "die"}
    # event: docker's action names (and pdman's own), type, scope, image by short name
    evs = _events(service, {"event": ["die"], "type": ["container"]})
    assert names(evs) == {"lab-both", "lab-a"} and {e["Action"] for e in evs} == {"die"}
    assert names(_events(service, {"event": ["died"], "container": ["lab-a"]})) == {"lab-a"}
    assert _events(service, {"scope": ["swarm"]}) == []
    evs = _events(service, {"scope": ["local"], "volume": ["lab-vol"]})
    assert {(e["Type"], e["Actor"]["ID"]) for e in evs} == {("volume", "lab-vol")}
    # image: the full name, or without its tag (docker's stripTag keeps the registry)
    for ref in (busybox, busybox.rpartition(":")[0]):
        image_evs = _events(service, {"image": [ref], "type": ["container"]})
        assert names(image_evs) == {"lab-both", "lab-a"}, ref
    assert _events(service, {"image": ["busy"], "type": ["container"]}) == []
    # the swarm keys are docker's too: accepted, matching nothing here
    assert _events(service, {"service": ["x"]}) == []
    status, _, body = service.request(
        "GET", "/events?until=1&filters=" + quote(json.dumps({"colour": ["red"]})))
    assert status == 400 and "colour" in json.loads(body)["message"]
    run_pdman("rm", "-f", "lab-both", "lab-a", env=service.env)
    run_pdman("volume", "rm", "lab-vol", env=service.env)
