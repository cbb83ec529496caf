"""`pod clone POD [NAME]` (podman 4.3's), as the unprivileged user: the clone has the
original's configuration and a clone of each of its containers; --start starts it,
--destroy removes the original; the options it shares with `pod create` go over the
original's."""

from __future__ import annotations

import socket

import pytest

from tests.bed.runner import call, pod_inspect


pd = call


@pytest.fixture
def env(registry_env: dict[str, str], busybox: str) -> dict[str, str]:
    return registry_env


def names_in(env: dict[str, str], pod: str) -> set[str]:
    return {c["Name"] for c in pod_inspect(env, pod).get("Containers", [])}


def test_clone_a_pod_with_a_member_start_it_and_destroy_the_original(
        env: dict[str, str], busybox: str) -> None:
    pd(env, "pod", "create", "--name", "orig", "--hostname", "orighost",
       "--label", "app=shop", "--share", "ipc,net,uts")
    pd(env, "create", "--pod", "orig", "--name", "web", busybox,
       "sh", "-c", "echo started; exec sleep 1000")
    orig_infra = pod_inspect(env, "orig")["InfraContainerID"]
    orig_infra_name = pd(env, "inspect", "--format", "{{.Name}}", orig_infra).stdout.strip()

    # podman's default name, then the next free one
    first = pd(env, "pod", "clone", "orig").stdout.strip()
    doc = pod_inspect(env, "orig-clone")
    assert doc["Id"] == first and doc["Id"] != pod_inspect(env, "orig")["Id"]
    assert doc["Hostname"] == "orighost"
    assert doc["Labels"]["app"] == "shop"
    assert doc["SharedNamespaces"] == ["ipc", "net", "uts"]
    assert doc["State"] == "Created"
    # its own infra container (the original's name with -clone, as podman) and the
    # member's clone
    assert names_in(env, "orig-clone") == {f"{orig_infra_name}-clone", "web-clone"}
    assert doc["InfraContainerID"] != orig_infra

    # NAME as an argument, the shared options over the original's; --start: the
    # clone runs, its member in it (on the clone's hostname, in the clone's network)
    pd(env, "pod", "clone", "--start", "--label", "tier=2", "--hostname", "newhost",
       "orig", "second")
    doc = pod_inspect(env, "second")
    assert doc["State"] == "Running"
    assert doc["Labels"] == {**doc["Labels"], "app": "shop", "tier": "2"}
    member = next(c["Name"] for c in doc["Containers"] if c["Id"] != doc["InfraContainerID"])
    assert member == "web-clone1"
    assert pd(env, "exec", member, "hostname").stdout.strip() == "newhost"
    assert "started" in pd(env, "logs", member).stdout
    # the original is untouched by all this
    assert pod_inspect(env, "orig")["State"] == "Created"
    assert pod_inspect(env, "orig")["Hostname"] == "orighost"

    # --destroy: the original (and its containers) gone, the clone has the member
    pd(env, "pod", "start", "orig")
    third = pd(env, "pod", "clone", "--destroy", "--start", "--name", "third",
               "orig").stdout.strip()
    assert pd(env, "pod", "exists", "orig", check=False).returncode == 1
    assert pd(env, "container", "exists", "web", check=False).returncode == 1
    assert pd(env, "container", "exists", orig_infra, check=False).returncode == 1
    doc = pod_inspect(env, third)
    assert doc["Name"] == "third" and doc["State"] == "Running"
    assert "web-clone2" in names_in(env, "third")
    assert pd(env, "inspect", "--format", "{{.State.Status}}",
              "web-clone2").stdout.strip() == "running"

    for pod in ("orig-clone", "second", "third"):
        pd(env, "pod", "rm", "-f", pod)
    assert pd(env, "ps", "-aq").stdout == ""
    assert pd(env, "pod", "ps", "-q").stdout == ""


def test_clone_keeps_the_pods_network_and_ports(env: dict[str, str], busybox: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        unused_tcp_port = int(s.getsockname()[1])
    pd(env, "pod", "create", "--name", "net1", "-p", f"127.0.0.1:{unused_tcp_port}:80",
       "--add-host", "db.local:10.1.2.3", "--dns-search", "example.test")
    pd(env, "pod", "clone", "--destroy", "net1", "net2")
    doc = pod_inspect(env, "net2")
    assert doc["InfraConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(unused_tcp_port)}]}
    assert doc["InfraConfig"]["HostAdd"] == ["db.local:10.1.2.3"]
    assert doc["InfraConfig"]["DNSSearch"] == ["example.test"]
    out = pd(env, "run", "--rm", "--pod", "net2", busybox, "cat", "/etc/hosts").stdout
    assert "10.1.2.3" in out and "db.local" in out
    pd(env, "pod", "rm", "-f", "net2")


def test_clone_refusals(env: dict[str, str]) -> None:
    pd(env, "pod", "create", "--name", "a")
    pd(env, "pod", "create", "--name", "b")
    done = pd(env, "pod", "clone", "a", "b", check=False)
    assert done.returncode == 125 and "already in use" in done.stderr
    done = pd(env, "pod", "clone", "nosuchpod", check=False)
    assert done.returncode != 0 and "nosuchpod" in done.stderr
    done = pd(env, "pod", "clone", "--name", "x", "a", "y", check=False)
    assert done.returncode == 125 and "both --name and a NAME" in done.stderr
    # nothing half-made
    assert sorted(pd(env, "pod", "ps", "--format", "{{.Name}}").stdout.split()) == ["a", "b"]
    pd(env, "pod", "rm", "-f", "a", "b")


def test_clone_of_a_pod_made_before_its_options_were_recorded(env: dict[str, str],
                                                              busybox: str) -> None:
    """A pod made by an earlier pdman has no `create_options` in its catalog row: the
    clone is made from what its config and its infra container hold."""
    import sqlite3
    from pathlib import Path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    pd(env, "pod", "create", "--name", "old", "--hostname", "oldhost", "--label", "a=b",
       "-p", f"127.0.0.1:{port}:80", "--add-host", "db.local:10.1.2.3", "--share", "net,uts")
    pd(env, "create", "--pod", "old", "--name", "w", busybox, "sleep", "1000")
    db = sqlite3.connect(Path(env["PDMAN_ROOT"]) / "catalog.db")
    with db:
        db.execute("UPDATE pods SET config = json_remove(config, '$.create_options') "
                   "WHERE name = 'old'")
    row = db.execute("SELECT json_extract(config, '$.create_options'), "
                     "json_extract(config, '$.hostname') FROM pods WHERE name = 'old'").fetchone()
    assert row == (None, "oldhost")
    db.close()
    pd(env, "pod", "clone", "--destroy", "old", "new")
    doc = pod_inspect(env, "new")
    assert doc["Hostname"] == "oldhost"
    assert doc["Labels"]["a"] == "b"
    assert doc["SharedNamespaces"] == ["net", "uts"]
    assert doc["InfraConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert doc["InfraConfig"]["HostAdd"] == ["db.local:10.1.2.3"]
    assert "w-clone" in names_in(env, "new")
    pd(env, "pod", "start", "new")
    assert pd(env, "exec", "w-clone", "hostname").stdout.strip() == "oldhost"
    pd(env, "pod", "rm", "-f", "new")
