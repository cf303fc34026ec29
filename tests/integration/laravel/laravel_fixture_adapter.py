"""Turn a recorded fixture line (the shared line format) into a bridge declaration and values.

Generic on purpose: nothing here knows the class, property or value names of any fixture
set, only the line format described in the fixtures' README.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from bridge.laravel.attributes import ClassAttribute
from bridge.laravel.classes import NO_DEFAULT, Job, JobClass, Prop
from bridge.laravel.encryption import Encrypter
from bridge.laravel.payload import build_payload, build_string_payload
from bridge.laravel.values import Model, ModelCollection, PhpDateTime
from bridge.laravel.versions import profile_for
from bridge.php import PhpEnum, PhpObject, Visibility, mangle
from bridge.queue.redis import with_redis_fields

DEFAULT_QUEUE = "default"


class _Values:
    """Converts value descriptions, resolving `{"ref": path}` to the same instance."""

    def __init__(self) -> None:
        self.seen: dict[str, Any] = {}

    def convert(self, desc: Any, path: str) -> Any:
        if isinstance(desc, list):
            return [self.convert(v, f"{path}/{i}") for i, v in enumerate(desc)]
        if not isinstance(desc, dict):
            return desc
        if "float" in desc and len(desc) == 1:
            return float(desc["float"].lower().replace("nan", "nan"))
        if "array" in desc and len(desc) == 1:
            return {k: self.convert(v, f"{path}/{k}") for k, v in desc["array"]}
        if "ref" in desc:
            return self.seen[desc["ref"]]
        if "enum" in desc:
            return PhpEnum(class_name=desc["enum"], case=desc["case"])
        if "datetime" in desc:
            return date_value(desc)
        if "model" in desc:
            return Model(
                class_name=desc["model"],
                key=desc["key"],
                connection=desc.get("connection"),
                relations=tuple(desc.get("relations") or ()),
            )
        if "model_collection" in desc:
            return ModelCollection(
                class_name=desc["model_collection"],
                keys=tuple(desc["keys"]),
                connection=desc.get("connection"),
                relations=tuple(desc.get("relations") or ()),
                collection_class=desc.get("collection_class"),
            )
        if "object" in desc:
            obj = PhpObject(desc["object"], {})
            self.seen[path] = obj
            visibility = desc.get("visibility", {})
            for name, value in desc["properties"].items():
                key = mangle(name, visibility.get(name, "public"), desc["object"])
                obj.properties[key] = self.convert(value, f"{path}/{name}")
            return obj
        raise ValueError(f"unknown value description {desc!r}")


def date_value(desc: dict[str, Any]) -> PhpDateTime:
    """A described PHP date as an aware datetime remembering its PHP class."""
    moment = datetime.fromisoformat(desc["datetime"])
    offset = moment.utcoffset()
    assert offset is not None
    tz_type, name = desc["timezone_type"], desc["timezone"]
    if tz_type == 3:
        zone: Any = ZoneInfo(name)
    elif tz_type == 2:
        zone = timezone(offset, name)
    else:
        zone = timezone(timedelta(seconds=offset.total_seconds()))
    local = moment.replace(tzinfo=zone)
    out = PhpDateTime(
        local.year, local.month, local.day, local.hour, local.minute, local.second,
        local.microsecond, local.tzinfo,
    )  # fmt: skip
    out.php_class = desc["class"]
    return out


def declaration(desc: dict[str, Any]) -> JobClass:
    """The `JobClass` a described job class stands for.

    A property listed in `defaults` has that default (untyped or typed, PHP serializes
    both alike); one not listed is typed without a default, so it is `mixed` here.
    """
    defaults = desc.get("defaults", {})
    values = _Values()
    props = []
    for name in desc["properties"]:
        vis = Visibility(desc["visibility"][name])
        if name in defaults:
            default = values.convert(defaults[name], f"/default/{name}")
            props.append(Prop(name, vis, None, default))
        else:
            props.append(Prop(name, vis, "mixed", NO_DEFAULT))
    methods = {k: _Values().convert(v, f"/method/{k}") for k, v in desc.get("methods", {}).items()}
    attributes = tuple(
        ClassAttribute(
            item["attribute"],
            tuple(_Values().convert(v, "/attribute") for v in item["arguments"]),
        )
        for item in desc.get("class_attributes", ())
    )
    return JobClass(
        name=desc["class"],
        properties=tuple(props),
        traits=tuple(desc.get("traits", ())),
        interfaces=tuple(desc.get("interfaces", ())),
        methods=methods,
        attributes=attributes,
    )


def job_from(desc: dict[str, Any], declarations: Mapping[str, JobClass] | None = None) -> Job:
    """The job instance with the described property values.

    The class comes from `declarations` when it has one (e.g. generated by `bridge
    stubs`), else from the description itself.
    """
    values = _Values()
    props = {name: values.convert(v, f"/{name}") for name, v in desc["properties"].items()}
    cls = (declarations or {}).get(desc["class"]) or declaration(desc)
    return cls.instance(props)


@dataclass(frozen=True)
class Pins:
    """Values Laravel generated at dispatch, taken from the recorded line."""

    uuid: str
    now: int
    encrypter: Encrypter | None
    bulk: bool


def dispatched_job(line: dict[str, Any], declarations: Mapping[str, JobClass] | None = None) -> Job:
    """The job as the dispatch code left it: queue, delay, chain and batch applied."""
    job = job_from(line, declarations)
    if "batch" in line:
        # Batches route through their own options; the job's `queue` stays unset.
        job = job.with_batch(line["batch"]["id"])
    elif line.get("queue") not in (None, DEFAULT_QUEUE):
        job = job.on_queue(line["queue"])
    if line.get("delay") is not None:
        job = job.delay(_Values().convert(line["delay"], "/delay"))
    if line.get("chained"):
        job = job.chain([job_from(d, declarations) for d in line["chained"]])
    return job


def pins(line: dict[str, Any]) -> Pins:
    """uuid, clock, and (for encrypted commands) an encrypter replaying the recorded IV."""
    payload = json.loads(line["payload"])
    encrypter = None
    if "app_key" in line and "cipher" in line:
        envelope = json.loads(base64.b64decode(payload["data"]["command"]))
        iv = base64.b64decode(envelope["iv"])
        encrypter = Encrypter(
            line["app_key"],
            line["cipher"],
            with_tag="tag" in envelope,
            random_bytes=lambda n: iv,
        )
    return Pins(
        uuid=payload["uuid"],
        now=int(payload.get("createdAt", line["row"]["created_at"])),
        encrypter=encrypter,
        bulk="batch" in line,
    )


def bridge_payload(line: dict[str, Any], *, fresh: bool = False) -> str:
    """bridge's payload for a dispatched line; pinned to Laravel's row unless `fresh` (then a new
    uuid, the current time and a new IV)."""
    profile = profile_for(line["laravel"])
    pinned = pins(line)
    uid, now, encrypter = pinned.uuid, pinned.now, pinned.encrypter
    if fresh:
        uid, now = str(uuid.uuid4()), int(time.time())
        if encrypter is not None:
            encrypter = Encrypter(line["app_key"], line["cipher"])
    if line["kind"] == "string_job":
        data = json.loads(line["payload"])["data"]
        return build_string_payload(line["job"], data, profile=profile, uuid=uid, now=now)
    return build_payload(
        dispatched_job(line),
        profile=profile,
        uuid=uid,
        now=now,
        encrypter=encrypter,
        bulk=pinned.bulk,
    )


def redis_payload_mismatches(lines: list[dict[str, Any]]) -> list[str]:
    """The lines whose payload, as Laravel's RedisQueue wrote it, bridge does not write byte for
    byte: its payload for the line's job (uuid, clock and IV pinned) with the Redis keys added
    as `RedisQueue.push` adds them, under Laravel's random `id`."""
    problems = []
    for line in lines:
        recorded = line["payload"]
        ours = with_redis_fields(bridge_payload(line), job_id=json.loads(recorded)["id"])
        if ours != recorded:
            problems.append(f"{line['kind']}:\n  Laravel {recorded}\n  bridge  {ours}")
    return problems
