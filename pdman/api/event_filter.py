"""`GET /events?filters=...` with docker's rules, applied to the docker-form message
(api/system.py's `docker_event`), so a filter sees what the client will see:

- keys: docker's accepted ones (container, event, image, label, network, type,
  volume, daemon, scope, plugin, node, service, secret, config); anything else is a 400;
- values of one key are alternatives, different keys must all match -- but every
  `label` given must match (docker's MatchKVList);
- container, volume, network, daemon, plugin, node, service, secret, config: the
  actor's ID or its `name` attribute, exactly or by prefix (docker's FuzzyMatch), on
  events of every type (so `container=web` keeps only web's events);
- image: the actor's ID or image name (`name` for image events, `image` for the
  others), exactly, or without its tag and docker.io prefix (`busybox`);
- event: the action exactly; health_status, exec_create and exec_start by prefix
  (their actions carry a suffix); pdman's own status names are accepted too
  (`died` for `die`), as podman's service accepts podman's;
- type: exact; scope: `local` (there is no swarm).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ACCEPTED = ("config", "container", "daemon", "event", "image", "label", "network", "node",
            "plugin", "scope", "secret", "service", "type", "volume",
            # pdman's and podman's extras, harmless to docker's clients
            "status", "pod")
#: keys matched against the actor's ID or name, whatever the event's type
_BY_ACTOR = ("config", "container", "daemon", "network", "node", "plugin", "secret",
             "service", "volume")
_FUZZY_EVENTS = ("health_status", "exec_create", "exec_start")


def family_name(image: str) -> str:
    """docker's stripTag: no tag or digest, no docker.io/library/ prefix."""
    name = image.partition("@")[0]
    last = name.rpartition("/")[2]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.partition(":")[0]
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


class DockerEventFilter:
    def __init__(self, filters: "tuple[str, ...] | list[str]") -> None:
        from pdman.errors import UsageError

        self.wanted: dict[str, list[str]] = {}
        for f in filters:
            key, eq, value = f.partition("=")
            key = key.strip().lower()
            if key in ("since", "until"):
                continue                  # the time bounds, read by the caller
            if not eq or key not in ACCEPTED:
                raise UsageError(f"invalid filter '{key}'",
                                 hint="accepted: " + ", ".join(ACCEPTED[:-2]))
            self.wanted.setdefault("event" if key == "status" else key, []).append(value)

    def __call__(self, msg: "dict[str, Any]", status: str = "") -> bool:
        """`msg`: docker's event; `status`: pdman's own name for its action."""
        actor = msg.get("Actor") or {}
        attrs: dict[str, str] = actor.get("Attributes") or {}
        ident = str(actor.get("ID") or "")
        for key, values in self.wanted.items():
            if key == "label":
                if not all(_label(attrs, v) for v in values):
                    return False
            elif not any(self._one(key, v, msg, ident, attrs, status) for v in values):
                return False
        return True

    @staticmethod
    def _one(key: str, value: str, msg: "dict[str, Any]", ident: str,
             attrs: "dict[str, str]", status: str) -> bool:
        if key in _BY_ACTOR:
            name = attrs.get("name", "")
            return bool(value) and (ident.startswith(value) or name.startswith(value))
        if key == "type":
            return msg.get("Type") == value
        if key == "scope":
            return value == "local"
        if key == "event":
            action = str(msg.get("Action") or "")
            if value in _FUZZY_EVENTS:
                return action.startswith(value)
            return value in (action, status)
        if key == "image":
            name = attrs.get("name" if msg.get("Type") == "image" else "image", "")
            return value in (ident, name) or (bool(value) and value in (
                family_name(ident), family_name(name)))
        if key == "pod":
            return bool(value) and attrs.get("pod_id", "").startswith(value)
        return False


def _label(attrs: "dict[str, str]", value: str) -> bool:
    k, eq, v = value.partition("=")
    return k in attrs and (not eq or attrs[k] == v)


__all__ = ["ACCEPTED", "DockerEventFilter", "family_name"]
