"""Hatchling build hook: compiles the matcher's C accelerator, ``bot/matching/_speedups.c``.

- ``pip install -e .`` (editable): the extension is built next to its source, in ``bot/matching/``,
  where the editable install imports it from (it is git-ignored).
- ``pip install .`` / wheel: the extension is built in a temporary directory and added to the wheel,
  which is then tagged for this interpreter and platform.

Compiling is optional: without a working C compiler (or Python headers) the build still succeeds, prints
one warning line, and pactwatch runs the pure-Python matcher code (identical results, slower).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sysconfig
import tempfile
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

MODULE = "bot.matching._speedups"
SOURCE = os.path.join("bot", "matching", "_speedups.c")


def _compile(root: str, out_dir: str) -> str:
    """Build the extension into ``out_dir`` with setuptools' ``build_ext``; return the built file."""
    from setuptools import Distribution, Extension

    extension = Extension(MODULE, sources=[os.path.join(root, SOURCE)])
    dist = Distribution({"name": "pactwatch-speedups", "ext_modules": [extension]})
    build_ext = dist.get_command_obj("build_ext")
    build_ext.build_lib = out_dir
    build_ext.build_temp = os.path.join(out_dir, "temp")
    build_ext.ensure_finalized()
    build_ext.run()
    return str(build_ext.get_ext_fullpath(MODULE))


class SpeedupsBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return  # the sdist ships the C source; its wheel compiles it
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        in_place = os.path.join(self.root, "bot", "matching", "_speedups" + suffix)
        self._tmp = tempfile.mkdtemp(prefix="pactwatch-speedups-")
        try:
            built = _compile(self.root, self._tmp)
        except Exception as err:  # any failure to compile (no compiler, no headers) means: no accelerator
            if version == "editable":
                with contextlib.suppress(FileNotFoundError):
                    os.remove(in_place)  # a build of an older source must not be imported instead
            reason = " ".join(f"{type(err).__name__}: {err}".split())
            self.app.display_warning(
                f"WARNING: pactwatch: could not compile {SOURCE} ({reason}); "
                "the pure-Python matcher code is used (same results, slower)"
            )
            return
        if version == "editable":
            # Replace atomically: a running process may have the old file loaded.
            staged = in_place + ".new"
            shutil.copyfile(built, staged)
            os.replace(staged, in_place)
        else:
            build_data["force_include"][built] = f"bot/matching/{os.path.basename(built)}"
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
