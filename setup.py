"""Build of the codec's C accelerators; everything else about the project is in pyproject.toml.

Both extensions are optional: where they cannot be compiled, the install goes on and
`bridge.php` uses its pure-Python decoder and encoder, which return the same values.
"""

from __future__ import annotations

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("bridge.php._cdecode", ["bridge/php/_cdecode.c"], optional=True),
        Extension("bridge.php._cencode", ["bridge/php/_cencode.c"], optional=True),
    ]
)
