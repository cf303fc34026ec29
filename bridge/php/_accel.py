"""The codec's optional C accelerators, and the switch that turns them off.

`_cdecode.decode` and `_cencode.encode` are fast paths for the values real payloads are
made of (null, bools, ints, floats, strings, arrays, plain objects). For anything else (``r:``
and ``R:``, enums, ``C:``, a limit reached, malformed data, an unknown type) they return
`NotImplemented` and the pure-Python codec does the work, so values and errors are the
same either way; the tests hold the two against each other.

They are built when the package is installed and a C compiler is present. Without them,
or with ``BRIDGE_PURE_PYTHON=1`` in the environment, only the Python codec runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeAlias

__all__ = ["c_decode", "c_encode"]

_Decode: TypeAlias = Callable[[bytes, int, int, bool, type], Any]
_Encode: TypeAlias = Callable[[Any, int, type], Any]

#: `decode(data, max_depth, max_length, allow_trailing, object_type)`, or None.
c_decode: _Decode | None = None
#: `encode(value, max_depth, object_type)`, or None.
c_encode: _Encode | None = None

if os.environ.get("BRIDGE_PURE_PYTHON", "") in ("", "0"):
    try:
        from bridge.php._cdecode import decode as _c_decode
    except ImportError:
        pass
    else:
        c_decode = _c_decode
    try:
        from bridge.php._cencode import encode as _c_encode
    except ImportError:
        pass
    else:
        c_encode = _c_encode
