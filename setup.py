"""Build hook: the cffi extension (pdman._native) and the monitor executable.

Everything else lives in pyproject.toml; setuptools still needs setup.py for
`cffi_modules`, which builds the C helper during `pip install` with no step by hand.
"""
from setuptools import setup

setup(cffi_modules=["native/build_native.py:ffibuilder"])
