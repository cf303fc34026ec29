"""`bridge stubs` over the harness's PHP job classes: PHP reflection -> Python declarations
whose payloads are byte-identical to what live Laravel 8 writes for the same values."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from laravel_fixture_adapter import dispatched_job, pins

from bridge.exceptions import StubGenerationError
from bridge.laravel import JobClass, build_payload, profile_for
from bridge.laravel.stubs import generate_stubs
from tests.support.laravel import BEHAVIOUR_KINDS, PHP_FIXTURES, VALUE_KINDS, fresh_laravel_env

pytestmark = pytest.mark.php


@pytest.fixture(scope="module")
def stub_module(laravel: Path, php_binary: str) -> types.ModuleType:
    source = generate_stubs(
        [PHP_FIXTURES / "app"], autoload=PHP_FIXTURES / "autoload.php", php=php_binary
    )
    module = types.ModuleType("generated_stubs")
    exec(compile(source, "generated_stubs.py", "exec"), module.__dict__)
    return module


def test_stubs_are_valid_python_with_every_job(stub_module: types.ModuleType) -> None:
    declarations: dict[str, JobClass] = stub_module.DECLARATIONS
    assert len(declarations) >= len(VALUE_KINDS) - 2
    for name, cls in declarations.items():
        assert cls.name == name and cls.implements("ShouldQueue")


KINDS = [k for k in (*VALUE_KINDS, *BEHAVIOUR_KINDS) if k != "string_job"]


def test_stub_declarations_build_laravels_payloads(
    stub_module: types.ModuleType, sqlite_url: str, php_binary: str, tmp_path: Path
) -> None:
    env = fresh_laravel_env(sqlite_url, php_binary=php_binary, tmp_path=tmp_path)
    declarations: dict[str, JobClass] = stub_module.DECLARATIONS
    checked: list[str] = []
    for kind in KINDS:
        for line in env.dispatch(kind):
            assert line["class"] in declarations, line["class"]
            pinned = pins(line)
            built = build_payload(
                dispatched_job(line, declarations),
                profile=profile_for(line["laravel"]),
                uuid=pinned.uuid,
                now=pinned.now,
                encrypter=pinned.encrypter,
                bulk=pinned.bulk,
            )
            assert built == line["payload"], kind
            checked.append(kind)
    assert set(checked) == set(KINDS)


def test_stub_errors(php_binary: str, tmp_path: Path) -> None:
    with pytest.raises(StubGenerationError, match="no such file"):
        generate_stubs([tmp_path / "missing"], php=php_binary)
    broken = tmp_path / "Broken.php"
    broken.write_text("<?php\nclass Broken extends NoSuchParent {}\n")
    with pytest.raises(StubGenerationError):
        generate_stubs([broken], php=php_binary)
