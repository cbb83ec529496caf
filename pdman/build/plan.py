"""The build plan: which stages a target needs, build arguments, and what each
metadata-only instruction does to the image config. Pure logic (no I/O).

A stage's state while it builds is a `StageState`: the image config so far (the OCI
config document: `config`, `history`, `rootfs`), the ARG values in scope, the SHELL,
and the cache key chain (each step's key covers its parent's key).
"""

from __future__ import annotations

import copy
import hashlib
import json
import posixpath
import re

from pdman.build.expand import expand_word, expand_words, key_values
from pdman.build.parser import Containerfile, Instruction, Stage
from pdman.errors import BuildFileError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: ARGs docker predefines: usable without an ARG line, left out of history
PREDEFINED_ARGS = frozenset({"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                             "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy",
                             "ALL_PROXY", "all_proxy"})
#: instructions that make a layer (the others only change the config)
LAYER_STEPS = frozenset({"RUN", "COPY", "ADD"})


def step_key(parent: str, text: str, extra: str = "") -> str:
    return hashlib.sha256(f"{parent}\n{text}\n{extra}".encode()).hexdigest()


def global_args(cf: Containerfile, build_args: dict[str, str]) -> dict[str, str]:
    """The ARGs before the first FROM: usable in FROM lines, and re-declarable in a stage."""
    out: dict[str, str] = {}
    for ins in cf.meta_args:
        for key, value in key_values(ins.args, out, "ARG"):
            if key in build_args:
                out[key] = build_args[key]
            elif "=" in ins.args:
                out[key] = value
    return out


def stage_index(cf: Containerfile, ref: str) -> int | None:
    """The stage named (or numbered) `ref`; None when no stage is."""
    low = ref.lower()
    for st in cf.stages:
        if st.name and st.name == low:
            return st.index
    if ref.isdigit() and int(ref) < len(cf.stages):
        return int(ref)
    return None


def base_of(cf: Containerfile, stage: Stage, gargs: dict[str, str]) -> str:
    return expand_word(stage.base, gargs)


def dependencies(cf: Containerfile, stage: Stage, gargs: dict[str, str]) -> set[int]:
    deps: set[int] = set()
    base = stage_index(cf, base_of(cf, stage, gargs))
    if base is not None and base < stage.index:
        deps.add(base)
    for ins in stage.instructions:
        src = ins.flag("from")
        if ins.keyword == "RUN":
            # RUN --mount=...,from=STAGE reads that stage's files
            for spec in ins.flags.get("mount") or []:
                for part in spec.split(","):
                    key, _, value = part.partition("=")
                    if key.strip().lower() == "from" and value:
                        idx = stage_index(cf, expand_word(value, gargs))
                        if idx is not None and idx < stage.index:
                            deps.add(idx)
        if ins.keyword in ("COPY", "ADD") and src:
            idx = stage_index(cf, expand_word(src, gargs))
            if idx is not None:
                if idx >= stage.index:
                    raise BuildFileError(f"{cf.path}:{ins.line}: {ins.original}: stage {src} "
                                         "is not before this one",
                                         hint="COPY --from names an earlier stage")
                deps.add(idx)
    return deps


def needed_stages(cf: Containerfile, target: str, gargs: dict[str, str]) -> list[int]:
    """The stages to build for `target` (default: the last), in file order; stages the
    target does not depend on are skipped."""
    if target:
        last = stage_index(cf, target)
        if last is None:
            raise BuildFileError(f"{cf.path}: no stage named {target!r}",
                                 hint="--target names a stage given by FROM ... AS NAME")
    else:
        last = len(cf.stages) - 1
    need: set[int] = set()
    todo = [last]
    while todo:
        i = todo.pop()
        if i in need:
            continue
        need.add(i)
        todo += list(dependencies(cf, cf.stages[i], gargs))
    return sorted(need)


def scratch_config(architecture: str, os_name: str) -> dict[str, Any]:
    return {"architecture": architecture, "os": os_name, "config": {},
            "rootfs": {"type": "layers", "diff_ids": []}, "history": []}


class StageState:
    def __init__(self, config: dict[str, Any], key: str, image_id: str,
                 gargs: dict[str, str], build_args: dict[str, str], escape: str) -> None:
        self.config = copy.deepcopy(config)
        self.config.setdefault("config", {})
        # what the stage starts from: --squash merges only what comes after
        self.base_layers = len((self.config.get("rootfs") or {}).get("diff_ids") or [])
        self.base_history = len(self.config.get("history") or [])
        self.key = key
        self.image_id = image_id            # last registered image ("" for scratch)
        self.base_id = image_id             # the image FROM named ("": scratch, a stage)
        self.dirty = False                  # config changed since image_id was registered
        self.gargs = gargs
        self.build_args = build_args
        self.args: dict[str, str] = {}      # ARGs declared in this stage, in order
        self.shell = ["/bin/sh", "-c"]
        self.escape = escape
        self.cmd_set = False
        self.used_args: set[str] = set()
        #: the manifest annotations the stage's image inherits: its base's, with the
        #: base's name and digest (buildah's org.opencontainers.image.base.*)
        self.annotations: dict[str, str] = {}

    @property
    def c(self) -> dict[str, Any]:
        return self.config["config"]        # type: ignore[no-any-return]

    def env(self) -> dict[str, str]:
        """Expansion environment: ARGs, then ENV (ENV wins over an ARG of the name)."""
        out = dict(self.args)
        for item in self.c.get("Env") or []:
            k, _, v = item.partition("=")
            out[k] = v
        return out

    def run_env(self) -> list[str]:
        """A RUN's environment: the image's ENV plus the ARGs in scope."""
        env = list(self.c.get("Env") or [])
        names = {e.partition("=")[0] for e in env}
        env += [f"{k}={v}" for k, v in self.args.items() if k not in names]
        return env

    def arg_prefix(self) -> str:
        """docker's history form of a RUN with build args: `|2 A=1 B=2 `."""
        pairs = [f"{k}={v}" for k, v in self.args.items() if k not in PREDEFINED_ARGS]
        return f"|{len(pairs)} {' '.join(pairs)} " if pairs else ""

    def declare_arg(self, ins: Instruction) -> None:
        for key, value in key_values(ins.args, self.env(), "ARG", self.escape):
            has_default = "=" in ins.args.split()[0] if ins.args.split() else False
            if key in self.build_args:
                self.args[key] = self.build_args[key]
                self.used_args.add(key)
            elif has_default:
                self.args[key] = value
            elif key in self.gargs:
                self.args[key] = self.gargs[key]
            else:
                self.args.pop(key, None)
                self.args[key] = ""


def _command(state: StageState, ins: Instruction) -> list[str]:
    form = ins.exec_form
    if form is not None:
        return form
    return [*state.shell, ins.args]


def _duration_ns(text: str, what: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text.strip())
    if m is None:
        raise BuildFileError(f"HEALTHCHECK --{what}={text}: not a duration",
                             hint="write e.g. 30s, 1m or 500ms")
    scale = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}[m.group(2)]
    return int(float(m.group(1)) * scale)


def apply_metadata(state: StageState, ins: Instruction) -> str:
    """Apply a config-only instruction; returns its history `created_by` text."""
    kw = ins.keyword
    env = state.env()
    esc = state.escape
    c = state.c
    shown = ins.args
    if kw == "ENV":
        pairs = key_values(ins.args, env, "ENV", esc)
        items = list(c.get("Env") or [])
        for k, v in pairs:
            items = [e for e in items if e.partition("=")[0] != k] + [f"{k}={v}"]
        c["Env"] = items
        shown = " ".join(f"{k}={v}" for k, v in pairs)
    elif kw == "LABEL":
        pairs = key_values(ins.args, env, "LABEL", esc)
        labels = dict(c.get("Labels") or {})
        labels.update(pairs)
        c["Labels"] = labels
        shown = " ".join(f"{k}={v}" for k, v in pairs)
    elif kw == "WORKDIR":
        path = expand_word(ins.args, env, esc)
        c["WorkingDir"] = posixpath.normpath(posixpath.join(c.get("WorkingDir") or "/", path))
        shown = c["WorkingDir"]
    elif kw == "USER":
        c["User"] = shown = expand_word(ins.args, env, esc)
    elif kw == "STOPSIGNAL":
        c["StopSignal"] = shown = expand_word(ins.args, env, esc)
    elif kw == "EXPOSE":
        ports = dict(c.get("ExposedPorts") or {})
        words = expand_words(ins.args, env, esc)
        for p in words:
            ports[p if "/" in p else p + "/tcp"] = {}
        c["ExposedPorts"] = ports
        shown = " ".join(words)
    elif kw == "VOLUME":
        vols = dict(c.get("Volumes") or {})
        form = ins.exec_form
        paths = [expand_word(p, env, esc) for p in form] if form is not None \
            else expand_words(ins.args, env, esc)
        for p in paths:
            vols[p] = {}
        c["Volumes"] = vols
        shown = "[" + " ".join(paths) + "]"
    elif kw == "CMD":
        c["Cmd"] = _command(state, ins)
        state.cmd_set = True
        shown = json.dumps(c["Cmd"])
    elif kw == "ENTRYPOINT":
        c["Entrypoint"] = _command(state, ins) if ins.args.strip() else None
        if not state.cmd_set:
            c["Cmd"] = None     # docker: an inherited CMD does not survive a new ENTRYPOINT
        shown = json.dumps(c["Entrypoint"])
    elif kw == "SHELL":
        form = ins.exec_form
        if not form:
            raise BuildFileError(f"SHELL {ins.args}: needs the JSON form",
                                 hint='write SHELL ["/bin/sh", "-c"]')
        state.shell = form
        shown = json.dumps(form)
    elif kw == "MAINTAINER":
        state.config["author"] = shown = expand_word(ins.args, env, esc)
    elif kw == "ONBUILD":
        c["OnBuild"] = [*(c.get("OnBuild") or []), ins.args]
    elif kw == "HEALTHCHECK":
        _healthcheck(state, ins)
    elif kw == "ARG":
        state.declare_arg(ins)
        shown = " ".join(f"{k}" + (f"={state.args[k]}" if state.args.get(k) else "")
                         for k, _ in key_values(ins.args, env, "ARG", esc))
    else:
        raise BuildFileError(f"{ins.keyword} is not a metadata instruction")
    state.dirty = True
    return f"/bin/sh -c #(nop) {kw} {shown}"


def _healthcheck(state: StageState, ins: Instruction) -> None:
    text = ins.args.strip()
    if text.upper() == "NONE":
        state.c["Healthcheck"] = {"Test": ["NONE"]}
        return
    word, _, rest = text.partition(" ")
    if word.upper() != "CMD":
        raise BuildFileError(f"HEALTHCHECK {text}: expected CMD or NONE",
                             hint="write HEALTHCHECK [OPTIONS] CMD command")
    sub = Instruction("CMD", rest.strip(), ins.line, ins.original)
    form = sub.exec_form
    test = ["CMD", *form] if form is not None else ["CMD-SHELL", rest.strip()]
    hc: dict[str, Any] = {"Test": test}
    for flag, field in (("interval", "Interval"), ("timeout", "Timeout"),
                        ("start-period", "StartPeriod"), ("start-interval", "StartInterval")):
        if ins.flag(flag):
            hc[field] = _duration_ns(ins.flag(flag), flag)
    if ins.flag("retries"):
        if not ins.flag("retries").isdigit():
            raise BuildFileError(f"HEALTHCHECK --retries={ins.flag('retries')}: not a number",
                                 hint="write e.g. --retries=3")
        hc["Retries"] = int(ins.flag("retries"))
    state.c["Healthcheck"] = hc


__all__ = ["LAYER_STEPS", "StageState", "apply_metadata", "base_of", "global_args",
           "needed_stages", "scratch_config", "stage_index", "step_key"]
