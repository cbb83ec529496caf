"""Options and reports of the engine verbs, shared by the CLI and the API service.

Each engine verb takes one options object and returns one report (or a list of them),
so that `cli/` and `service/` build the same object and get the same answer. Modules
on the hot path (`containers`) use plain slotted classes: importing `dataclasses`
(and with it `inspect`) would cost more than `pdman ps` itself.
"""
