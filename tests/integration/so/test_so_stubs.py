"""`bridge stubs --dialect so` declares SO job classes by PHP reflection, and refuses those
the SO worker could not run from a payload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from so_kit import CLASSES, KINDS, SO_FRAMEWORK, SoEnv

from bridge.dispatcher import Dispatcher
from bridge.exceptions import StubGenerationError
from bridge.queue.memory import InMemoryQueue
from bridge.so.stubs import generate_so_stubs

pytestmark = [pytest.mark.php, pytest.mark.mysql]

FIXTURES = Path(__file__).resolve().parents[3] / "php_fixtures" / "so"


def _stubs(monkeypatch: pytest.MonkeyPatch, php: str, version: str, file: str, fmt: str) -> str:
    monkeypatch.setenv("SO_FRAMEWORK_DIR", str(SO_FRAMEWORK / version))
    return generate_so_stubs(
        [FIXTURES / file], autoload=FIXTURES / "autoload.php", php=php, fmt=fmt
    )


def test_stubs_declare_the_fixture_classes_as_written_by_hand(
    so_env: SoEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _stubs(monkeypatch, so_env.php, so_env.version, "jobs.php", so_env.format)
    namespace: dict[str, Any] = {}
    exec(compile(source, "so_stubs.py", "exec"), namespace)
    declared = namespace["DECLARATIONS"]
    assert declared == CLASSES
    ratio = next(p for p in declared[KINDS.name].properties if p.name == "ratio")
    assert type(ratio.default) is float  # 0.0, not 0: serialize() writes d:0
    # A job left at its defaults: bridge's bytes are the framework's.
    dispatcher = Dispatcher(queue=InMemoryQueue(), dialect=so_env.dialect)
    mine = dispatcher.dispatch(declared[KINDS.name].new()).payload
    assert [mine] == so_env.php_serialize([(KINDS.name, {})])


def test_stubs_refuse_what_the_framework_cannot_carry(
    so_env: SoEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(StubGenerationError) as caught:
        _stubs(monkeypatch, so_env.php, so_env.version, "bad_jobs.php", so_env.format)
    message = str(caught.value)
    assert "NeedsArgument: its constructor requires 1 argument(s)" in message
    assert "HasPrivate::$secret is private" in message
    object_refused = "HoldsObject::$when is typed ?DateTimeImmutable" in message
    # Only the JSON format loses objects; serialize() carries them.
    assert object_refused == (so_env.format == "so")
