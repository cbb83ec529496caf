"""The compatibility measure (issue #13): every podman 4.3 command and flag is in pdman,
with podman's names and value kind, or named in `exclusions.toml` with its reason."""

from __future__ import annotations

from tests.compat import measure as m


def test_pdman_has_every_podman_command_and_flag_not_excluded() -> None:
    reports = m.measure()
    gaps = m.gaps(reports)
    c = m.counts(reports)
    print(f"commands {c['commands_covered']}/{c['commands']}, flags {c['flags_covered']}/{c['flags']}")
    assert not gaps, ("podman has these and pdman lacks them; add them, or name them in "
                      "tests/compat/exclusions.toml with a reason:\n" + "\n".join(gaps))


def test_every_exclusion_excludes_something() -> None:
    snapshot = m.load_snapshot()
    exclusions = m.Exclusions.load()
    stale = m.stale_exclusions(m.measure(snapshot, exclusions), exclusions, snapshot)
    assert not stale, "delete these from tests/compat/exclusions.toml:\n" + "\n".join(stale)


def test_every_exclusion_has_a_reason() -> None:
    exclusions = m.Exclusions.load()
    for what, reason in [*exclusions.commands.items(), *exclusions.flags.items()]:
        assert len(reason) > 10, what


def test_the_measure_sees_a_missing_flag_and_a_wrong_kind() -> None:
    """The measure itself can fail: a pdman without `rm --force`, and with a `--all`
    that takes a value, shows both gaps."""
    snapshot = {"podman": "4.3.1", "commands": {
        "": {"group": True, "subcommands": ["rm"], "flags": []},
        "rm": {"group": False, "subcommands": [], "flags": [
            {"long": "force", "short": "f", "value": False},
            {"long": "all", "short": "a", "value": False},
            {"long": "time", "short": "t", "value": True}]}}}
    tree = {"": {}, "rm": {"--all": True, "-a": True, "--time": True, "-t": True}}
    none = m.Exclusions(commands={}, flags={})
    gaps = sorted(m.gaps(m.measure(snapshot, none, tree)))
    assert gaps == ["`rm --all`: is a boolean in podman", "`rm --force`: missing"]
    only_force = m.Exclusions(commands={}, flags={("rm", "--force"): "a reason"})
    assert m.gaps(m.measure(snapshot, only_force, tree)) == ["`rm --all`: is a boolean in podman"]
    assert sorted(m.gaps(m.measure(snapshot, none, {"": {}}))) == [
        "`rm --all`: missing", "`rm --force`: missing", "`rm --time`: missing",
        "command `rm`: missing"]
