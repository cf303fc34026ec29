"""The codec's C accelerators built with AddressSanitizer and UndefinedBehaviorSanitizer.

`build` compiles bridge/php/_cdecode.c and _cencode.c with ``-fsanitize=address,undefined``
into a directory of their own (the installed modules stay as they are). A Python process
started with `environment` (the ASan runtime preloaded, Python's allocator switched to
malloc so that ASan sees every object's bounds) and `ENV` naming that directory runs them in
place of the installed ones: `install_from_env` swaps them into `bridge.php._accel`, as the
test session's conftest and the fuzzing child do. Any bad memory access or undefined
behaviour then aborts that process with a report.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path
from types import ModuleType

from bridge.php import _accel

ROOT = Path(__file__).resolve().parents[2]
ENV = "BRIDGE_SANITIZED_ACCELERATORS"
MODULES = ("_cdecode", "_cencode")
FLAGS = [
    "-shared",
    "-fPIC",
    "-O1",
    "-g",
    "-fno-omit-frame-pointer",
    "-fsanitize=address,undefined",
    # Report undefined behaviour as an error that stops the process, not a warning.
    "-fno-sanitize-recover=all",
    "-Wall",
    "-Werror",
]


class ToolchainMissing(Exception):
    """No compiler, or no sanitizer runtime for it."""


def compiler() -> str:
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise ToolchainMissing("no C compiler (gcc) on PATH")
    return cc


def runtime(cc: str) -> Path:
    """The ASan runtime library the compiler links against, to preload into Python."""
    found = subprocess.run(
        [cc, "-print-file-name=libasan.so"], capture_output=True, text=True, check=False
    ).stdout.strip()
    path = Path(found)
    if not path.is_absolute() or not path.exists():
        raise ToolchainMissing(f"{cc} has no AddressSanitizer runtime (libasan)")
    return path.resolve()


def build(target: Path) -> Path:
    """Compile both modules into `target`; return the ASan runtime to preload."""
    cc = compiler()
    asan = runtime(cc)
    include = sysconfig.get_paths()["include"]
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    target.mkdir(parents=True, exist_ok=True)
    for name in MODULES:
        source = ROOT / "bridge" / "php" / f"{name}.c"
        result = subprocess.run(
            [cc, *FLAGS, f"-I{include}", str(source), "-o", str(target / f"{name}{suffix}")],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            if "asan" in result.stderr or "ubsan" in result.stderr:
                raise ToolchainMissing(f"the sanitizer runtimes do not link:\n{result.stderr}")
            raise RuntimeError(f"{name}.c does not compile with sanitizers:\n{result.stderr}")
    return asan


def environment(target: Path, asan: Path) -> dict[str, str]:
    """The environment of a Python process that runs the sanitized modules from `target`."""
    env = dict(os.environ)
    env.update(
        {
            ENV: str(target),
            "LD_PRELOAD": str(asan),
            "PYTHONMALLOC": "malloc",
            # The interpreter itself leaks by design at exit; leaks are not what is tested.
            "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1:halt_on_error=1",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        }
    )
    return env


def _load(name: str, directory: Path) -> ModuleType:
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    path = directory / f"{name}{suffix}"
    spec = importlib.util.spec_from_file_location(f"bridge.php.{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def install_from_env() -> Path | None:
    """Put the sanitized modules named by `ENV` in place of the installed accelerators."""
    directory = os.environ.get(ENV)
    if not directory:
        return None
    _accel.c_decode = _load("_cdecode", Path(directory)).decode
    _accel.c_encode = _load("_cencode", Path(directory)).encode
    return Path(directory)
