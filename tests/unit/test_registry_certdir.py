"""`--cert-dir`: the CA files of that directory replace the registry's certs.d ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdman.errors import RegistryError
from pdman.image.registry import RegistryClient, _tls_context


def test_a_cert_dir_without_cas_verifies_as_default(tmp_path: Path) -> None:
    assert _tls_context("registry.example:5000", str(tmp_path)) is True


def test_a_bad_ca_in_the_cert_dir_is_named(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("not a certificate")
    with pytest.raises(RegistryError) as info:
        _tls_context("registry.example:5000", str(tmp_path))
    assert str(tmp_path / "ca.crt") in str(info.value)


def test_the_cert_dir_replaces_certs_d(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # certs.d would hold a broken CA for the registry: with --cert-dir it is not read
    broken = tmp_path / "config" / "containers" / "certs.d" / "registry.example:5000"
    broken.mkdir(parents=True)
    (broken / "ca.crt").write_text("broken")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with pytest.raises(RegistryError):
        _tls_context("registry.example:5000")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _tls_context("registry.example:5000", str(empty)) is True
    # and the client takes it
    with pytest.raises(RegistryError):
        RegistryClient("registry.example:5000", cert_dir=str(broken))
    RegistryClient("registry.example:5000", cert_dir=str(empty)).close()

