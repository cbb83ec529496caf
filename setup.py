"""Build hook: the cffi extension (pdman._native) and the C executables of
pdman/libexec/ (the per-container monitor), both from native/.

Everything else lives in pyproject.toml; setuptools still needs setup.py for
`cffi_modules`, which builds the C helper during `pip install` with no step by hand,
and for the build_py step below that compiles the executables into the package, where
`pdman.runtime.libexec` finds them (in a PyInstaller bundle too).
"""
import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildPyWithExecutables(build_py):
    def run(self) -> None:
        super().run()
        spec = importlib.util.spec_from_file_location("build_native", HERE / "native/build_native.py")
        assert spec is not None and spec.loader is not None
        builder = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(builder)
        # an editable install runs the package from the source tree
        base = HERE if getattr(self, "editable_mode", False) else Path(self.build_lib)
        builder.build_executables(base / "pdman" / "libexec")


setup(cffi_modules=["native/build_native.py:ffibuilder",
                    "native/build_native.py:seccomp_ffibuilder"],
      cmdclass={"build_py": BuildPyWithExecutables})
