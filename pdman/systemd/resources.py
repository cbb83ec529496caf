"""Quadlet `.volume`, `.network` and `.image` files -> oneshot services that create the
volume or network (`--ignore`: once) or pull the image; the `.container` translation and
the shared helpers are in quadlet.py."""

from __future__ import annotations

from pdman.errors import UnitFileError
from pdman.systemd.quadlet import (Command, Generated, Source, Sources, check_keys, keyvals,
                                   service_base, validate, words_of)
from pdman.systemd.unitfile import UnitFile, join_words, parse_bool


def oneshot(out: UnitFile) -> None:
    out.setdefault("Service", "Type", "oneshot")
    out.setdefault("Service", "RemainAfterExit", "yes")
    out.setdefault("Service", "SyslogIdentifier", "%N")


VOLUME_KEYS = {"VolumeName", "Driver", "Device", "Type", "Options", "Copy", "User", "Group",
               "Label", "Image", "PodmanArgs", "GlobalArgs", "ContainersConfModule"}


def translate_volume(source: Source, sources: Sources, pdman: str, user: bool) -> Generated:
    sec = "Volume"
    check_keys(source, VOLUME_KEYS)
    unit = source.unit
    out = service_base(source, sources)
    cmd = Command(pdman)
    for e in unit.all(sec, "GlobalArgs"):
        cmd.words.extend(words_of(source, e))
    cmd.add(None, "volume", "create", "--ignore")
    for key in ("ContainersConfModule", "Image", "Copy"):
        e = unit.last(sec, key)
        if e is not None:
            raise UnitFileError(f"{source.where(e)}: {key}= is not supported by pdman yet")
    driver = unit.last(sec, "Driver")
    if driver is not None:
        cmd.add(driver, "--driver", driver.value)
    for key, opt in (("Type", "type"), ("Device", "device"), ("Options", "o")):
        e = unit.last(sec, key)
        if e is not None:
            cmd.add(e, "--opt", f"{opt}={e.value}")
    for key, opt in (("User", "uid"), ("Group", "gid")):
        e = unit.last(sec, key)
        if e is not None:
            cmd.add(e, "--opt", f"{opt}={e.value}")
    return _create_unit(source, sec, cmd, sources.volume_name(source.name), "volume create", out)


def _create_unit(source: Source, sec: str, cmd: Command, name: str, verb: str,
                 out: UnitFile) -> Generated:
    """The common end of a .volume/.network unit: Label= and PodmanArgs= onto the
    `pdman VERB` command, the resource's name last, checked, as a oneshot ExecStart."""
    unit = source.unit
    labels = keyvals(source, "Label", sec)
    for k in sorted(labels):
        cmd.add(unit.last(sec, "Label"), "--label", f"{k}={labels[k]}")
    for e in unit.all(sec, "PodmanArgs"):
        for word in words_of(source, e):
            cmd.add(e, word)
    cmd.words.append(name)
    validate(cmd, verb, source)
    oneshot(out)
    out.add("Service", "ExecStart", join_words(cmd.words))
    return Generated(source, out)


NETWORK_KEYS = {"NetworkName", "Driver", "Subnet", "Gateway", "IPRange", "Internal", "IPv6",
                "DNS", "DisableDNS", "Label", "Options", "PodmanArgs", "GlobalArgs",
                "IPAMDriver", "ContainersConfModule", "NetworkDeleteOnStop", "InterfaceName"}


def translate_network(source: Source, sources: Sources, pdman: str, user: bool) -> Generated:
    sec = "Network"
    check_keys(source, NETWORK_KEYS)
    unit = source.unit
    out = service_base(source, sources)
    cmd = Command(pdman)
    for e in unit.all(sec, "GlobalArgs"):
        cmd.words.extend(words_of(source, e))
    cmd.add(None, "network", "create", "--ignore")
    for key in ("ContainersConfModule", "NetworkDeleteOnStop"):
        e = unit.last(sec, key)
        if e is not None:
            raise UnitFileError(f"{source.where(e)}: {key}= is not supported by pdman yet")
    for key, flag in (("Driver", "--driver"), ("IPAMDriver", "--ipam-driver"),
                      ("InterfaceName", "--interface-name")):
        e = unit.last(sec, key)
        if e is not None:
            cmd.add(e, flag, e.value)
    subnets, gateways = unit.all(sec, "Subnet"), unit.all(sec, "Gateway")
    if len(gateways) > len(subnets):
        raise UnitFileError(f"{source.where(gateways[-1])}: more Gateway= than Subnet= keys",
                            hint="each Gateway= belongs to the Subnet= before it")
    for e in subnets:
        cmd.add(e, "--subnet", e.value)
    for e in gateways:
        cmd.add(e, "--gateway", e.value)
    for e in unit.all(sec, "IPRange"):
        cmd.add(e, "--ip-range", e.value)
    for e in unit.all(sec, "DNS"):
        cmd.add(e, "--dns", e.value)
    for key, flag in (("Internal", "--internal"), ("IPv6", "--ipv6"),
                      ("DisableDNS", "--disable-dns")):
        e = unit.last(sec, key)
        if e is not None and parse_bool(e, source.path):
            cmd.add(e, flag)
    for e in unit.all(sec, "Options"):
        cmd.add(e, "--opt", e.value)
    return _create_unit(source, sec, cmd, sources.network_name(source.name), "network create", out)


IMAGE_KEYS = {"Image", "ImageTag", "AllTags", "Arch", "AuthFile", "CertDir", "Creds",
              "DecryptionKey", "OS", "TLSVerify", "Variant", "PodmanArgs", "GlobalArgs",
              "ContainersConfModule", "Retry", "RetryDelay", "Policy"}


def translate_image(source: Source, sources: Sources, pdman: str, user: bool) -> Generated:
    sec = "Image"
    check_keys(source, IMAGE_KEYS)
    unit = source.unit
    out = service_base(source, sources)
    image = unit.last(sec, "Image")
    if image is None:
        raise UnitFileError(f"{source.path}: no Image key specified",
                            hint="add Image=REFERENCE to [Image]")
    cmd = Command(pdman)
    for e in unit.all(sec, "GlobalArgs"):
        cmd.words.extend(words_of(source, e))
    cmd.add(None, "image", "pull")
    for key in ("ContainersConfModule", "DecryptionKey", "CertDir", "Retry", "RetryDelay",
                "Policy"):
        e = unit.last(sec, key)
        if e is not None:
            raise UnitFileError(f"{source.where(e)}: {key}= is not supported by pdman yet")
    all_tags = unit.last(sec, "AllTags")
    if all_tags is not None and parse_bool(all_tags, source.path):
        cmd.add(all_tags, "--all-tags")
    for key, flag in (("Arch", "--arch"), ("AuthFile", "--authfile"), ("Creds", "--creds"),
                      ("OS", "--os"), ("Variant", "--variant")):
        e = unit.last(sec, key)
        if e is not None:
            cmd.add(e, flag, e.value)
    tls = unit.last(sec, "TLSVerify")
    if tls is not None:
        cmd.add(tls, f"--tls-verify={'true' if parse_bool(tls, source.path) else 'false'}")
    for e in unit.all(sec, "PodmanArgs"):
        for word in words_of(source, e):
            cmd.add(e, word)
    cmd.words.append(image.value)
    validate(cmd, "image pull", source)
    oneshot(out)
    out.add("Service", "ExecStart", join_words(cmd.words))
    return Generated(source, out)


__all__ = ["IMAGE_KEYS", "NETWORK_KEYS", "VOLUME_KEYS", "oneshot", "translate_image",
           "translate_network", "translate_volume"]
