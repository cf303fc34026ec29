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
    PhpSerializeError,
    PhpTruncatedError,
)
from bridge.php._decoder import (
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_LENGTH,
    ObjectHook,
    PhpDecoder,
    loads,
    token_decoders,
)
from bridge.php._encoder import (
    Default,
    PhpEncoder,
    default_encoders,
    dumps,
    object_token,
    scalar_token,
)
from bridge.php._floats import format_float, parse_float
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
    mangle,
    unmangle,
)

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_LENGTH",
    "INT64_MAX",
    "INT64_MIN",
    "Default",
    "ObjectHook",
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
    "PhpSerializeError",
    "PhpTruncatedError",
    "PhpValue",
    "Visibility",
    "default_encoders",
    "dumps",
    "format_float",
    "loads",
    "mangle",
    "object_token",
    "parse_float",
    "scalar_token",
    "token_decoders",
    "unmangle",
]
