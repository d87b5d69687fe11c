"""External checkers (hadolint, promtool, amtool, compose validators): found or skipped.

Locally a missing tool skips its check with the command that installs it; under CI
(``CI=true``) a missing tool fails, so a green CI run always means the check ran.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest


def in_ci() -> bool:
    """Whether this run is CI's (.ci/run exports CI=true)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(what: str, install: str) -> None:
    message = f"{what} is not available ({install})"
    if in_ci():
        pytest.fail(f"{message}: CI must run this check")
    pytest.skip(message)


def binary(name: str, install: str) -> str:
    """Path of ``name`` on PATH or beside this Python (the venv's bin/), else skip/fail."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        _unavailable(name, install)
        raise AssertionError("unreachable")  # pytest.skip and pytest.fail raise
    return found


def module(name: str, install: str) -> ModuleType:
    """Import ``name``, else skip/fail with how to install it."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        _unavailable(f"Python module {name}", install)
        raise AssertionError("unreachable") from None
