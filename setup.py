"""Only what pyproject.toml cannot say: the top-level registry.yaml ships inside the `harness`
package of the wheel (a checkout reads it from the top of the tree instead)."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPy(build_py):
    def run(self):
        super().run()
        if not self.editable_mode:
            self.copy_file("registry.yaml", str(Path(self.build_lib, "harness", "registry.yaml")))


setup(cmdclass={"build_py": BuildPy})
