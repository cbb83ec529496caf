"""pdman: a rootless, daemonless container engine."""

__version__ = "0.1.0"
