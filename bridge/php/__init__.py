"""PHP's serialize() format, read and written exactly: `loads` and `dumps`, like `json`.

`dumps(loads(data)) == data` for every string PHP's serialize() produces, and `dumps`
writes what PHP would write for the same value (floats included). Decoding never imports,
instantiates or runs anything; `object_hook` is the opt-in way to map PHP classes.
"""

from __future__ import annotations

from bridge.exceptions import (
    PhpDecodeError,
    PhpEncodeError,
    PhpEncodeTypeError,
    PhpIntegerOverflowError,
    PhpLimitError,
    PhpTruncatedError,
)
from bridge.php._decoder import PhpDecoder, loads
from bridge.php._encoder import PhpEncoder, dumps, object_token, scalar_token
from bridge.php._types import (
    INT64_MAX,
    INT64_MIN,
    PhpCustom,
    PhpEnum,
    PhpKey,
    PhpObject,
    PhpReference,
    PhpValue,
    Visibility,
    format_float,
    mangle,
    unmangle,
)

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "PhpCustom",
    "PhpDecodeError",
    "PhpDecoder",
    "PhpEncodeError",
    "PhpEncodeTypeError",
    "PhpEncoder",
    "PhpEnum",
    "PhpIntegerOverflowError",
    "PhpKey",
    "PhpLimitError",
    "PhpObject",
    "PhpReference",
    "PhpTruncatedError",
    "PhpValue",
    "Visibility",
    "dumps",
    "format_float",
    "loads",
    "mangle",
    "object_token",
    "scalar_token",
    "unmangle",
]
