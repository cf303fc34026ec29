<?php
/*
 * The harness configuration, read from the environment variables a Laravel
 * `.env` would provide, turned into the config arrays Laravel's components expect.
 */

declare(strict_types=1);

namespace Fixtures\Harness;

use RuntimeException;

final class Settings
{
    /** @param array<string, string> $env */
    private function __construct(private readonly array $env)
    {
    }

    public static function fromEnvironment(): self
    {
        return new self(getenv());
    }

    public function get(string $name, string $default): string
    {
        $value = $this->env[$name] ?? '';

        return $value === '' ? $default : $value;
    }

    /** The DB connection name, which is also its driver (as in Laravel's skeleton). */
    public function dbConnection(): string
    {
        $name = $this->get('DB_CONNECTION', 'sqlite');
        if (! in_array($name, ['mysql', 'pgsql', 'sqlite'], true)) {
            throw new RuntimeException("DB_CONNECTION must be mysql, pgsql or sqlite, not [{$name}]");
        }

        return $name;
    }

    /** @return array<string, mixed> */
    public function database(): array
    {
        $name = $this->dbConnection();
        $connections = [
            'sqlite' => [
                'driver' => 'sqlite',
                'database' => $this->get('DB_DATABASE', sys_get_temp_dir() . '/bridge-fixtures.sqlite'),
                'prefix' => '',
                'foreign_key_constraints' => true,
            ],
            'mysql' => [
                'driver' => 'mysql',
                'host' => $this->get('DB_HOST', '127.0.0.1'),
                'port' => $this->get('DB_PORT', '3306'),
                'database' => $this->get('DB_DATABASE', 'test'),
                'username' => $this->get('DB_USERNAME', 'root'),
                'password' => $this->get('DB_PASSWORD', ''),
                'charset' => 'utf8mb4',
                'collation' => 'utf8mb4_unicode_ci',
                'prefix' => '',
                'strict' => true,
                'engine' => null,
            ],
            'pgsql' => [
                'driver' => 'pgsql',
                'host' => $this->get('DB_HOST', '127.0.0.1'),
                'port' => $this->get('DB_PORT', '5432'),
                'database' => $this->get('DB_DATABASE', 'test'),
                'username' => $this->get('DB_USERNAME', 'postgres'),
                'password' => $this->get('DB_PASSWORD', ''),
                'charset' => 'utf8',
                'prefix' => '',
                'schema' => 'public',
                'sslmode' => 'prefer',
            ],
        ];

        return ['default' => $name, 'connections' => [$name => $connections[$name]]];
    }

    public function queueConnectionName(): string
    {
        return $this->get('QUEUE_CONNECTION_NAME', 'database');
    }

    /** @return array<string, mixed> */
    public function queue(): array
    {
        $name = $this->queueConnectionName();
        $database = [
            'driver' => 'database',
            'connection' => $this->dbConnection(),
            'table' => $this->queueTable(),
            'queue' => 'default',
            'retry_after' => (int) $this->get('QUEUE_RETRY_AFTER', '90'),
            'after_commit' => false,
        ];

        return [
            'default' => $name,
            'connections' => [
                'sync' => ['driver' => 'sync'],
                // The database queue under its own name too, when the default is `redis`.
                'database' => $database,
                $name => $database,
                // Laravel's skeleton `redis` queue connection, on the `default` Redis connection
                // (QUEUE_CONNECTION_NAME=redis makes it the default).
                'redis' => [
                    'driver' => 'redis',
                    'connection' => 'default',
                    'queue' => $this->get('REDIS_QUEUE', 'default'),
                    'retry_after' => (int) $this->get('QUEUE_RETRY_AFTER', '90'),
                    'block_for' => $this->get('REDIS_BLOCK_FOR', '') === '' ? null : (int) $this->get('REDIS_BLOCK_FOR', ''),
                    'after_commit' => false,
                ],
            ],
            'batching' => ['database' => $this->dbConnection(), 'table' => 'job_batches'],
            'failed' => [
                'driver' => $this->failedDriver(),
                'database' => $this->dbConnection(),
                'table' => $this->failedTable(),
            ],
        ];
    }

    /**
     * @return array<string, mixed> the `database.redis` config of the skeleton: the phpredis
     * client, or with REDIS_CLIENT=memory (as the skeleton reads that variable) the harness's
     * `MemoryRedis`, for a PHP without phpredis
     */
    public function redis(): array
    {
        $client = $this->get('REDIS_CLIENT', 'phpredis');
        $server = [
            'host' => $this->get('REDIS_HOST', '127.0.0.1'),
            'password' => $this->get('REDIS_PASSWORD', '') === '' ? null : $this->get('REDIS_PASSWORD', ''),
            'port' => $this->get('REDIS_PORT', '6379'),
            'database' => $this->get('REDIS_DB', '0'),
        ];
        $options = ['cluster' => 'redis', 'prefix' => $this->get('REDIS_PREFIX', 'laravel_database_')];
        // REDIS_CLUSTER=1: the `default` connection is a Redis Cluster seeded by that server,
        // as a `clusters` entry of config/database.php makes it.
        if ($this->get('REDIS_CLUSTER', '') !== '') {
            return ['client' => $client, 'options' => $options, 'clusters' => ['default' => [$server]]];
        }

        // The skeleton's `cache` connection: the same server, database REDIS_CACHE_DB, where
        // a `redis` cache store (FIXTURE_CACHE_DRIVER=redis) keeps queue:restart's signal.
        $cache = ['database' => $this->get('REDIS_CACHE_DB', '1')] + $server;

        return ['client' => $client, 'options' => $options, 'default' => $server, 'cache' => $cache];
    }

    public function queueTable(): string
    {
        return $this->get('QUEUE_TABLE', 'jobs');
    }

    public function failedTable(): string
    {
        return $this->get('QUEUE_FAILED_TABLE', 'failed_jobs');
    }

    public function failedDriver(): string
    {
        $driver = $this->get('QUEUE_FAILED_DRIVER', 'database-uuids');
        if (! in_array($driver, ['database-uuids', 'database'], true)) {
            throw new RuntimeException("QUEUE_FAILED_DRIVER must be database-uuids or database, not [{$driver}]");
        }

        return $driver;
    }

    /** The harness's own fixed key is the default, so fixtures are reproducible. */
    public const DEFAULT_APP_KEY = 'base64:AIOJdoqHPw4Ot5eihHgA9XzKAupGSxuvVTYvMYYXVyo=';

    public function appKey(): string
    {
        return $this->get('APP_KEY', self::DEFAULT_APP_KEY);
    }

    /** The raw key bytes, as EncryptionServiceProvider::parseKey() derives them. */
    public function rawAppKey(): string
    {
        $key = $this->appKey();

        return str_starts_with($key, 'base64:') ? base64_decode(substr($key, 7), true) : $key;
    }

    /**
     * `file` (the default), or `array`: a cache that lives as long as the process. The
     * WebAssembly PHP cannot take a shared flock(), so Laravel's file store reads nothing
     * back there; a session process (session.php) keeps its array cache across worker runs.
     */
    public function cacheStore(): string
    {
        $store = $this->get('FIXTURE_CACHE_STORE', 'file');
        if (! in_array($store, ['file', 'array'], true)) {
            throw new RuntimeException("FIXTURE_CACHE_STORE must be file or array, not [{$store}]");
        }

        return $store;
    }

    /**
     * Where the cache lives. A file cache, so maxExceptions counters survive a
     * worker restart between attempts, as they would with a shared cache store.
     */
    public function cacheDirectory(): string
    {
        $default = sys_get_temp_dir() . '/bridge-fixtures-cache-'
            . substr(hash('sha256', json_encode($this->database())), 0, 16);

        return $this->get('FIXTURE_CACHE_DIR', $default);
    }

    /**
     * The cache store: `file` (default, in cacheDirectory()), `database` (Laravel's
     * `cache` table on the queue's connection, where queue:restart's signal then lives) or
     * `redis` (Laravel's RedisStore on the `cache` Redis connection).
     */
    public function cacheDriver(): string
    {
        return $this->get('FIXTURE_CACHE_DRIVER', 'file');
    }

    /** The cache key prefix: config/cache.php's default for APP_NAME=Laravel in Laravel 8. */
    public function cachePrefix(): string
    {
        return $this->get('CACHE_PREFIX', 'laravel_cache');
    }
}
