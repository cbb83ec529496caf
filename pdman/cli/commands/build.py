"""Declaration: `build` (also `image build` and `buildx build`)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from pdman.cli import groups
from pdman.cli import options_create as o
from pdman.cli.commands.images import Authfile, Creds, TlsVerify
from pdman.cli.decl import handled_by


@handled_by("build.build")
def build(
    context: Annotated[Optional[str], typer.Argument(
        help="The build context: a directory, - for a tar archive on stdin, an http(s) URL "
             "of a tar archive (or of a lone Containerfile), or a git repository "
             "(git://..., https://....git, github.com/...; URL#REF:SUBDIR picks a branch or "
             "tag and a directory) (default: the current directory).")] = None,
    file: Annotated[Optional[str], typer.Option(
        "--file", "-f", help="The Containerfile (default: Containerfile, else Dockerfile, in "
                             "the context); - reads it from stdin.")] = None,
    tag: Annotated[Optional[list[str]], typer.Option(
        "--tag", "-t", help="Name the image NAME[:TAG] (repeatable).")] = None,
    build_arg: Annotated[Optional[list[str]], typer.Option(
        "--build-arg", metavar="KEY=VALUE",
        help="Set a build argument (an ARG of the Containerfile); KEY alone takes the "
             "value of the environment variable KEY.")] = None,
    target: Annotated[Optional[str], typer.Option(
        "--target", help="Build up to this stage (FROM ... AS NAME); stages it does not "
                         "need are not built.")] = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Do not reuse cached steps (the results are still cached).")] = False,
    cache_ttl: Annotated[Optional[str], typer.Option(
        "--cache-ttl", metavar="DURATION",
        help="Use only cached steps made at most this long ago (e.g. 30m, 1h); 0 uses no "
             "cache, as --no-cache.")] = None,
    layers: Annotated[bool, typer.Option(
        "--layers/--no-layers",
        help="Use and keep the layer cache (default); --no-layers disables it.")] = True,
    pull: Annotated[Optional[str], typer.Option(
        "--pull", metavar="POLICY",
        help="Pull the base images: missing (default), always, never, or newer.")] = None,
    pull_always: Annotated[bool, typer.Option(
        "--pull-always", help="Always pull the base images, even when present.")] = False,
    pull_never: Annotated[bool, typer.Option(
        "--pull-never", help="Never pull: base images must be present locally.")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="Print only the image ID (no steps, no RUN output).")] = False,
    iidfile: Annotated[Optional[str], typer.Option(
        "--iidfile", help="Write the image ID (sha256:...) to this file.")] = None,
    label: Annotated[Optional[list[str]], typer.Option(
        "--label", metavar="KEY=VALUE", help="Add a label to the image (repeatable).")] = None,
    annotation: Annotated[Optional[list[str]], typer.Option(
        "--annotation", metavar="KEY=VALUE",
        help="Add an annotation to the image's manifest (repeatable; KEY alone: an empty "
             "value). The image also keeps its base image's annotations, and names its base "
             "in org.opencontainers.image.base.name/.digest, as buildah does. A docker format "
             "manifest has none: with --format docker they are left out, with a "
             "warning.")] = None,
    timestamp: Annotated[Optional[int], typer.Option(
        "--timestamp", metavar="SECONDS",
        help="Set created times and file mtimes of new layers to this Unix time: the same "
             "inputs give the same image ID.")] = None,
    network: Annotated[Optional[str], typer.Option(
        "--network", help="The network of RUN steps: the default backend, none or host.")] = None,
    squash: Annotated[bool, typer.Option(
        "--squash", help="Merge the layers the final stage adds into one (its base's "
                         "layers are kept).")] = False,
    squash_all: Annotated[bool, typer.Option(
        "--squash-all", help="Merge every layer of the image, its base's too, into one.")] = False,
    secret: Annotated[Optional[list[str]], typer.Option(
        "--secret", metavar="id=ID,src=FILE",
        help="Give RUN --mount=type=secret,id=ID this file (src=FILE) or environment "
             "variable (env=NAME); it is mounted at /run/secrets/ID for that step only, "
             "never stored in the image or its cache key.")] = None,
    output: Annotated[Optional[list[str]], typer.Option(
        "--output", "-o", metavar="type=local|tar,dest=PATH",
        help="Also write the final stage's files out: type=local,dest=DIR (or just DIR) "
             "unpacks them into a new or empty directory, type=tar,dest=FILE (or -, stdout) "
             "writes a tar archive. The image is made as well.")] = None,
    platform: Annotated[Optional[str], typer.Option(
        "--platform", metavar="OS/ARCH[/VARIANT]",
        help="Build for this platform: FROM images are chosen from multi-platform indexes "
             "for it and the image records it. RUN steps need the host to run it (natively "
             "or through a registered emulator).")] = None,
    arch: Annotated[Optional[str], typer.Option(
        "--arch", help="The architecture to build for (the --platform's ARCH).")] = None,
    os_: Annotated[Optional[str], typer.Option(
        "--os", help="The operating system to build for (the --platform's OS).")] = None,
    variant: Annotated[Optional[str], typer.Option(
        "--variant", help="The architecture variant to build for (e.g. v8).")] = None,
    # RUN's container options: the declarations and the parsing of `run`'s own
    add_host: o.AddHost = None, cap_add: o.CapAdd = None, cap_drop: o.CapDrop = None,
    dns: o.Dns = None, dns_option: o.DnsOption = None, dns_search: o.DnsSearch = None,
    no_hosts: o.NoHosts = False, security_opt: o.SecurityOpt = None,
    shm_size: o.ShmSize = None, ulimit: o.Ulimit = None, volume: o.Volume = None,
    device: o.Device = None, memory: o.Memory = None, memory_swap: o.MemorySwap = None,
    cpu_shares: o.CpuShares = None, cpuset_cpus: o.CpusetCpus = None, ipc: o.Ipc = None,
    pid: o.Pid = None, uts: o.Uts = None, cgroupns: o.Cgroupns = None,
    cgroup_parent: o.CgroupParent = None, http_proxy: o.HttpProxy = True,
    env: Annotated[Optional[list[str]], typer.Option(
        "--env", metavar="KEY=VALUE",
        help="Set an environment variable in every stage's config (so RUN steps and the "
             "image have it), as an ENV right after FROM; KEY alone takes the value of the "
             "environment variable KEY.")] = None,
    unsetenv: Annotated[Optional[list[str]], typer.Option(
        "--unsetenv", metavar="KEY",
        help="Unset this environment variable in RUN steps and leave it out of the final "
             "image.")] = None,
    build_context: Annotated[Optional[list[str]], typer.Option(
        "--build-context", metavar="NAME=VALUE",
        help="Another context, named: VALUE a directory, an http(s) or git URL, or "
             "docker-image://REF (an image). FROM NAME, COPY --from=NAME and RUN --mount "
             "from=NAME use it where no stage is named NAME (repeatable).")] = None,
    from_: Annotated[Optional[str], typer.Option(
        "--from", metavar="IMAGE",
        help="Use IMAGE instead of the image of the Containerfile's first FROM.")] = None,
    jobs: Annotated[int, typer.Option(
        "--jobs", metavar="N",
        help="Build up to N stages that do not depend on each other at the same time "
             "(default 1; 0: as many as can run).")] = 1,
    ignorefile: Annotated[Optional[str], typer.Option(
        "--ignorefile", metavar="FILE",
        help="Read the ignore rules from FILE instead of the context's "
             ".containerignore/.dockerignore.")] = None,
    skip_unused_stages: Annotated[bool, typer.Option(
        "--skip-unused-stages/--no-skip-unused-stages",
        help="Skip the stages the target does not need (default); with "
             "--skip-unused-stages=false every stage before the target is built.")] = True,
    omit_history: Annotated[bool, typer.Option(
        "--omit-history", help="Leave the build's history out of the image (no entries).")] = False,
    identity_label: Annotated[bool, typer.Option(
        "--identity-label/--no-identity-label",
        help="Label the image io.pdman.version=VERSION (default), as buildah labels its "
             "io.buildah.version.")] = True,
    stdin: Annotated[bool, typer.Option(
        "--stdin", help="Pass pdman's standard input to RUN steps (they read /dev/null "
                        "otherwise).")] = False,
    format: Annotated[Optional[str], typer.Option(
        "--format", metavar="oci|docker",
        help="The image's manifest format (default oci; also BUILDAH_FORMAT); push keeps it.")] = None,
    manifest: Annotated[Optional[str], typer.Option(
        "--manifest", metavar="LIST",
        help="Add the built image to the manifest list LIST (see `pdman manifest`), "
             "creating the list if there is none.")] = None,
    compress: Annotated[bool, typer.Option(
        "--compress", help="Accepted for compatibility (podman's legacy option, which has "
                           "no effect on the image either).")] = False,
    disable_compression: Annotated[bool, typer.Option(
        "--disable-compression/--no-disable-compression", "-D",
        help="Accepted for compatibility: pdman's store keeps each built layer "
             "gzip-compressed, as it is pushed; podman's default (true) leaves its local "
             "layers uncompressed, which no command shows either.")] = True,
    logfile: Annotated[Optional[str], typer.Option(
        "--logfile", metavar="FILE",
        help="Write everything the build prints (steps, RUN output, errors) to FILE instead "
             "of stdout and stderr.")] = None,
    retry: Annotated[int, typer.Option(
        "--retry", help="Pull the FROM and COPY --from images again this many times after "
                        "a registry failure.")] = 3,
    retry_delay: Annotated[str, typer.Option(
        "--retry-delay", metavar="DURATION",
        help="The pause between pull retries, e.g. 2s or 500ms.")] = "2s",
    tls_verify: TlsVerify = None, authfile: Authfile = None, creds: Creds = None,
    force_rm: Annotated[bool, typer.Option(
        "--force-rm/--no-force-rm",
        help="Remove the containers of failed RUN steps (always done; accepted for "
             "compatibility).")] = True,
    rm: Annotated[bool, typer.Option(
        "--rm/--no-rm", help="Remove the containers of RUN steps (always done; accepted "
                             "for compatibility).")] = True,
) -> None:
    """Build an image from a Containerfile (or Dockerfile) and a context directory:
    multi-stage, with a layer cache. Prints the new image ID."""


groups.register(build, (groups.top, "build"), (groups.image, "build"), (groups.buildx, "build"))
