"""Reading and writing Kubernetes YAML, and Kubernetes quantities.

PyYAML is imported here and only when a kube command runs (it costs ~15 ms; no
other command needs it). Documents are read with the safe loader: a YAML file never
builds Python objects.
"""

from __future__ import annotations

from pdman.errors import KubeFileError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def load(text: str, source: str) -> "list[dict[str, Any]]":
    """The documents of a (multi-document) YAML text; empty documents are skipped.
    Each must be a mapping with a `kind` and a `metadata.name`."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        docs = [d for d in yaml.load_all(text, Loader=loader) if d is not None]
    except yaml.YAMLError as exc:
        raise KubeFileError(f"{source}: not valid YAML: {_one_line(exc)}",
                            hint="check the indentation and brackets near that line") from None
    for i, doc in enumerate(docs, 1):
        if not isinstance(doc, dict):
            raise KubeFileError(f"{source}: document {i} is not a mapping of Kubernetes fields",
                                hint="each document needs apiVersion, kind and metadata")
        if not isinstance(doc.get("kind"), str) or not doc["kind"]:
            raise KubeFileError(f"{source}: document {i} has no kind",
                                hint="e.g. kind: Pod")
        meta = doc.get("metadata")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) \
                or not meta["name"]:
            raise KubeFileError(f"{source}: document {i} ({doc['kind']}) has no metadata.name",
                                hint="give every object a name")
    if not docs:
        raise KubeFileError(f"{source}: no Kubernetes objects in the file",
                            hint="kube play runs Pod, Deployment, ConfigMap and "
                                 "PersistentVolumeClaim objects")
    return docs


def read(path: str) -> "tuple[str, list[dict[str, Any]]]":
    """(source name, documents) of a file, or of standard input for `-`."""
    import sys

    if path == "-":
        return "stdin", load(sys.stdin.read(), "stdin")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise KubeFileError(f"reading {path}: {getattr(exc, 'strerror', None) or exc}",
                            hint="give a readable Kubernetes YAML file, or - for stdin") from None
    return path, load(text, path)


def dump(docs: "list[dict[str, Any]]") -> str:
    """Documents as one multi-document YAML text (`---` between them)."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return "---\n".join(yaml.dump(d, Dumper=dumper, default_flow_style=False, sort_keys=True)
                        for d in docs)


def _one_line(exc: Exception) -> str:
    """`line 4, column 5: did not find expected ',' or '}' (while parsing a flow
    mapping)`: PyYAML's own text names the stream "<unicode string>"."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if mark is not None and problem:
        context = getattr(exc, "context", None)
        text = f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
        return f"{text} ({context})" if context else text
    return " ".join(str(exc).split())


# ---------------------------------------------------------------------------
# quantities (resources.limits)
# ---------------------------------------------------------------------------

_BINARY = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50,
           "Ei": 1 << 60}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}


def memory_bytes(value: "Any", where: str) -> int:
    """`64Mi`, `1G`, `128974848`, `129e6` -> bytes."""
    text = str(value).strip()
    try:
        for suffix, mult in _BINARY.items():
            if text.endswith(suffix):
                return int(float(text[:-2]) * mult)
        for suffix, mult in _DECIMAL.items():
            if text.endswith(suffix):
                return int(float(text[:-1]) * mult)
        if text.endswith("m"):
            return int(float(text[:-1]) / 1000)
        return int(float(text))
    except ValueError:
        raise KubeFileError(f"{where}: invalid memory quantity {value!r}",
                            hint="e.g. 64Mi, 1Gi or a number of bytes") from None


def cpus(value: "Any", where: str) -> float:
    """`500m`, `0.5`, `2` -> CPUs."""
    text = str(value).strip()
    try:
        if text.endswith("m"):
            return float(text[:-1]) / 1000
        return float(text)
    except ValueError:
        raise KubeFileError(f"{where}: invalid cpu quantity {value!r}",
                            hint="e.g. 500m or 0.5") from None


def memory_quantity(nbytes: int) -> str:
    """Bytes as the shortest exact binary quantity (`64Mi`)."""
    for suffix in ("Ti", "Gi", "Mi", "Ki"):
        mult = _BINARY[suffix]
        if nbytes >= mult and nbytes % mult == 0:
            return f"{nbytes // mult}{suffix}"
    return str(nbytes)


def cpu_quantity(value: float) -> str:
    """CPUs as millicores (`500m`)."""
    return f"{round(value * 1000)}m"
