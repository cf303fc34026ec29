from typing import Any

def decode(
    data: bytes, max_depth: int, max_length: int, allow_trailing: bool, object_type: type, /
) -> Any: ...
