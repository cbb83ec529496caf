"""A non-root user in a container holds no capabilities (podman's and OCI's sets): it
cannot act as root inside the container -- write root's files, chown, bind low ports.
Root in the container holds the default set, with nothing inheritable or ambient."""

from __future__ import annotations

from tests.bed.runner import run_pdman

DEFAULT_MASK = 0x800405FB  # podman's 11 default capabilities


def _caps(env: dict[str, str], image: str, *args: str) -> dict[str, int]:
    out = run_pdman("run", "--rm", *args, image, "grep", "^Cap", "/proc/self/status",
                    env=env).stdout
    return {k: int(v, 16) for k, v in (line.split(":\t") for line in out.splitlines())}


def test_a_non_root_user_holds_no_capabilities(registry_env: dict[str, str],
                                               busybox: str) -> None:
    user = _caps(registry_env, busybox, "--user", "1000:1000")
    assert user["CapEff"] == user["CapPrm"] == user["CapInh"] == user["CapAmb"] == 0, user
    assert user["CapBnd"] == DEFAULT_MASK
    # and so cannot write where only root may: a root-owned 0755 directory
    denied = run_pdman("run", "--rm", "--user", "1000:1000", busybox, "touch", "/etc/x",
                       env=registry_env, check=False)
    assert denied.returncode != 0 and "Permission denied" in denied.stderr
    # exec as that user too
    run_pdman("run", "-d", "--name", "c", busybox, "sleep", "600", env=registry_env)
    out = run_pdman("exec", "--user", "1000", "c", "grep", "^CapEff", "/proc/self/status",
                    env=registry_env).stdout
    assert int(out.split()[1], 16) == 0


def test_root_holds_the_default_set_and_nothing_ambient(registry_env: dict[str, str],
                                                        busybox: str) -> None:
    root = _caps(registry_env, busybox)
    assert root["CapEff"] == root["CapPrm"] == root["CapBnd"] == DEFAULT_MASK, root
    assert root["CapInh"] == root["CapAmb"] == 0, root
