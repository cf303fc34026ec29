"""`.env` with QUEUE_CONNECTION=redis: the Redis connection as Laravel's skeleton reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import RedisSettings, redis_settings_from_env, settings_from_laravel_env
from bridge.exceptions import ConfigError

BASE = {"DB_CONNECTION": "sqlite", "DB_DATABASE": "/tmp/x.sqlite"}


def test_queue_connection_redis_reads_the_redis_variables() -> None:
    env = {
        **BASE,
        "QUEUE_CONNECTION": "redis",
        "REDIS_HOST": "10.0.0.5",
        "REDIS_PORT": "6380",
        "REDIS_PASSWORD": "s3cret",
        "REDIS_DB": "2",
        "REDIS_PREFIX": "shop_",
        "REDIS_QUEUE": "{emails}",
        "REDIS_QUEUE_RETRY_AFTER": "120",
    }
    settings = settings_from_laravel_env(env, base_dir=Path("/app"), source=".env")
    assert (settings.connection_name, settings.default_queue) == ("redis", "{emails}")
    assert settings.retry_after_seconds == 120
    assert settings.redis == RedisSettings(
        host="10.0.0.5",
        port=6380,
        password="s3cret",
        db=2,
        prefix="shop_",
        queue="{emails}",
        retry_after_seconds=120,
    )
    assert settings.database_url == "sqlite:////tmp/x.sqlite"  # failed_jobs stay there


def test_null_password_is_none_and_prefix_defaults_follow_the_version() -> None:
    redis = redis_settings_from_env({"REDIS_PASSWORD": "null", "APP_NAME": "My Shop"})
    assert redis.password is None
    assert redis.key_prefix(8) == "my_shop_database_"
    assert redis.key_prefix(12) == "my_shop_database_"
    assert redis.key_prefix(13) == "my-shop-database-"
    assert RedisSettings(prefix="").key_prefix(13) == ""


def test_bad_numbers_are_reported() -> None:
    with pytest.raises(ConfigError, match="REDIS_PORT"):
        redis_settings_from_env({"REDIS_PORT": "six"})
    with pytest.raises(ConfigError, match="REDIS_QUEUE_RETRY_AFTER"):
        settings_from_laravel_env(
            {**BASE, "QUEUE_CONNECTION": "redis", "REDIS_QUEUE_RETRY_AFTER": "soon"},
            base_dir=Path("/app"),
            source=".env",
        )


def test_other_queue_connections_are_still_refused() -> None:
    with pytest.raises(ConfigError, match="database and redis"):
        settings_from_laravel_env(
            {**BASE, "QUEUE_CONNECTION": "sqs"}, base_dir=Path("/app"), source=".env"
        )


def test_choosing_the_redis_connection_takes_its_queue_and_retry_after() -> None:
    env = {
        **BASE,
        "QUEUE_CONNECTION": "database",
        "DB_QUEUE": "db-jobs",
        "DB_QUEUE_RETRY_AFTER": "60",
        "REDIS_QUEUE": "{emails}",
        "REDIS_QUEUE_RETRY_AFTER": "300",
    }
    settings = settings_from_laravel_env(env, base_dir=Path("/app"), source=".env")
    assert (settings.connection_name, settings.default_queue) == ("database", "db-jobs")
    redis = settings.for_connection("redis")
    assert (redis.connection_name, redis.default_queue, redis.retry_after_seconds) == (
        "redis",
        "{emails}",
        300,
    )
    assert redis.database_url == settings.database_url  # failed_jobs stay in the database
    assert settings.for_connection("database") is settings
