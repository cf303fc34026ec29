"""Laravel's side of the wire: payload JSON per version, PHP job classes, Laravel's values."""

from __future__ import annotations

from bridge.laravel._json import php_json_encode
from bridge.laravel._phptype import Kind, PhpType
from bridge.laravel.attributes import ClassAttribute
from bridge.laravel.classes import (
    NO_DEFAULT,
    UNINITIALIZED,
    FromNow,
    Job,
    JobClass,
    Prop,
    command_object,
    serialize_command,
)
from bridge.laravel.command import (
    NextJob,
    batch_allows_failures,
    batch_id_of,
    decode_batch_options,
    decode_command,
    encode_batch_options,
    next_chained_job,
)
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import (
    CALL_QUEUED_HANDLER,
    JobPayload,
    build_payload,
    build_string_payload,
)
from bridge.laravel.traits import SHOULD_BE_ENCRYPTED, SHOULD_QUEUE, STANDARD_TRAITS
from bridge.laravel.values import (
    Model,
    ModelCollection,
    PhpDateTime,
    date_from_php,
    date_to_php,
    enum_to_php,
    php_enum,
    to_python,
)
from bridge.laravel.versions import Profile, detect_profile, profile_for

__all__ = [  # noqa: RUF022  (grouped by topic, as the design asks)
    # payloads
    "CALL_QUEUED_HANDLER",
    "JobPayload",
    "build_payload",
    "build_string_payload",
    "php_json_encode",
    # versions
    "Profile",
    "detect_profile",
    "profile_for",
    # job classes
    "NO_DEFAULT",
    "SHOULD_BE_ENCRYPTED",
    "ClassAttribute",
    "FromNow",
    "SHOULD_QUEUE",
    "STANDARD_TRAITS",
    "UNINITIALIZED",
    "Job",
    "JobClass",
    "Kind",
    "PhpType",
    "Prop",
    "command_object",
    "serialize_command",
    # values
    "Model",
    "ModelCollection",
    "PhpDateTime",
    "date_from_php",
    "date_to_php",
    "enum_to_php",
    "php_enum",
    "to_python",
    # commands, chains, batches
    "NextJob",
    "batch_allows_failures",
    "batch_id_of",
    "decode_batch_options",
    "decode_command",
    "encode_batch_options",
    "next_chained_job",
    # encryption
    "Encrypter",
]
