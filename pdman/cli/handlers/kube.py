"""Handlers of `kube play|down|generate`: build options, call engine/kube.py, print as
podman ("Pod:\nID\nContainer:\nID\n\n")."""

from __future__ import annotations

from pdman.cli.globalopts import GlobalOptions


def play(g: GlobalOptions, file: str, configmap: list[str] | None, network: str | None,
         annotation: list[str] | None, log_driver: str | None, log_opt: list[str] | None,
         tls_verify: str | None, quiet: bool, replace: bool, down: bool, start: bool,
         build: bool | None = None, context_dir: str | None = None,
         no_hosts: bool = False, userns: str | None = None) -> int:
    from pdman.cli.handlers.containers import _tls
    from pdman.engine import kube
    from pdman.entities.kube import KubePlayOptions

    if down:
        _print_down(kube.down(g.context(), file))
        return 0
    report = kube.play(g.context(), KubePlayOptions(
        file, configmaps=configmap or [], network=network or "", annotations=annotation or [],
        log_driver=log_driver, log_opts=log_opt or [], tls_verify=_tls(tls_verify),
        quiet=quiet, replace_existing=replace, start=start, build=build,
        context_dir=context_dir or "", no_hosts=no_hosts, userns=userns or ""))
    lines: list[str] = []
    if report.volumes:
        lines += ["Volumes:", *report.volumes]
    for pod in report.pods:
        lines += ["Pod:", pod.id]
        if pod.containers:
            lines.append("Container:" if len(pod.containers) == 1 else "Containers:")
            lines += pod.containers
        lines.append("")
    print("\n".join(lines))
    return 0


def down(g: GlobalOptions, file: str) -> int:
    from pdman.engine import kube

    _print_down(kube.down(g.context(), file))
    return 0


def _print_down(report: "object") -> None:
    from pdman.entities.kube import KubeDownReport

    assert isinstance(report, KubeDownReport)
    lines: list[str] = []
    if report.stopped:
        lines += ["Pods stopped:", *report.stopped]
    if report.removed:
        lines += ["Pods removed:", *report.removed]
    if lines:
        print("\n".join(lines))


def generate(g: GlobalOptions, names: list[str], filename: str | None, service: bool,
             type: str, replicas: int) -> int:
    from pdman.engine import kube
    from pdman.entities.kube import KubeGenerateOptions
    from pdman.errors import UsageError

    text = kube.generate(g.context(), KubeGenerateOptions(
        names=names, service=service, type=type, replicas=replicas))
    if filename:
        try:
            with open(filename, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise UsageError(f"writing {filename}: {exc.strerror}") from None
        return 0
    print(text, end="")
    return 0
