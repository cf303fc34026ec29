<?php
/*
 * Boots Laravel 8's queue stack outside an application: the container with the
 * bindings the framework's service providers (Database, Queue, Bus, Encryption,
 * Cache, Events) would make, plus the failed-job provider chosen the way
 * QueueServiceProvider chooses it. Everything else in the harness goes through this.
 */

declare(strict_types=1);

namespace Fixtures\Harness;

use Illuminate\Bus\BatchFactory;
use Illuminate\Bus\BatchRepository;
use Illuminate\Bus\DatabaseBatchRepository;
use Illuminate\Bus\Dispatcher as BusDispatcher;
use Illuminate\Cache\ArrayStore;
use Illuminate\Cache\CacheManager;
use Illuminate\Cache\DatabaseStore;
use Illuminate\Cache\FileStore;
use Illuminate\Cache\RedisStore;
use Illuminate\Cache\Repository as CacheRepository;
use Illuminate\Config\Repository as ConfigRepository;
use Illuminate\Console\Command;
use Illuminate\Container\Container;
use Illuminate\Contracts\Bus\Dispatcher as DispatcherContract;
use Illuminate\Contracts\Bus\QueueingDispatcher;
use Illuminate\Contracts\Cache\Repository as CacheContract;
use Illuminate\Contracts\Container\Container as ContainerContract;
use Illuminate\Contracts\Debug\ExceptionHandler;
use Illuminate\Contracts\Encryption\Encrypter as EncrypterContract;
use Illuminate\Contracts\Encryption\StringEncrypter;
use Illuminate\Contracts\Events\Dispatcher as EventsContract;
use Illuminate\Contracts\Queue\Factory as QueueFactory;
use Illuminate\Contracts\Queue\Monitor as QueueMonitor;
use Illuminate\Database\Connection;
use Illuminate\Database\ConnectionResolverInterface;
use Illuminate\Database\Connectors\ConnectionFactory;
use Illuminate\Database\DatabaseManager;
use Illuminate\Database\DatabaseTransactionsManager;
use Illuminate\Database\Eloquent\Model;
use Illuminate\Encryption\Encrypter;
use Illuminate\Events\Dispatcher as EventDispatcher;
use Illuminate\Filesystem\Filesystem;
use Illuminate\Queue\Connectors\DatabaseConnector;
use Illuminate\Queue\Connectors\RedisConnector;
use Illuminate\Queue\Connectors\SyncConnector;
use Illuminate\Queue\Failed\DatabaseFailedJobProvider;
use Illuminate\Queue\Failed\DatabaseUuidFailedJobProvider;
use Illuminate\Queue\Failed\FailedJobProviderInterface;
use Illuminate\Queue\QueueManager;
use Illuminate\Queue\Worker;
use Illuminate\Redis\RedisManager;
use Illuminate\Support\DateFactory;
use Illuminate\Support\Facades\Facade;
use Laravel\SerializableClosure\SerializableClosure;
use Symfony\Component\Console\Input\ArrayInput;
use Symfony\Component\Console\Output\OutputInterface;
use Symfony\Component\Console\Output\StreamOutput;

final class Harness
{
    public const CIPHER = 'AES-256-CBC';

    private function __construct(
        public readonly HarnessContainer $app,
        public readonly Settings $settings,
    ) {
    }

    public static function boot(Settings $settings): self
    {
        // Laravel's skeleton sets app.timezone to UTC; failed_at and log lines depend on it.
        date_default_timezone_set('UTC');

        $app = new HarnessContainer();
        Container::setInstance($app);
        Facade::clearResolvedInstances();
        Facade::setFacadeApplication($app);
        $app->instance('app', $app);
        $app->instance(Container::class, $app);
        $app->instance(ContainerContract::class, $app);

        $app->instance('config', new ConfigRepository([
            'app' => ['key' => $settings->appKey(), 'cipher' => self::CIPHER, 'timezone' => 'UTC'],
            'database' => $settings->database() + ['redis' => $settings->redis()],
            'queue' => $settings->queue(),
            'cache' => [
                'default' => $settings->cacheStore(),
                'stores' => [
                    'file' => ['driver' => 'file', 'path' => $settings->cacheDirectory()],
                    'array' => ['driver' => 'array', 'serialize' => true],
                ],
            ],
        ]));
        $app->instance('files', new Filesystem());
        $app->singleton('date', static fn () => new DateFactory());

        $events = new EventDispatcher($app);
        $app->instance('events', $events);
        $app->alias('events', EventsContract::class);

        self::bootDatabase($app, $events);
        self::bootEncryption($app, $settings);
        self::bootCache($app, $settings);
        self::bootQueue($app, $settings);

        return new self($app, $settings);
    }

    private static function bootDatabase(HarnessContainer $app, EventDispatcher $events): void
    {
        $app->singleton('db.factory', static fn ($app) => new ConnectionFactory($app));
        $app->singleton('db', static fn ($app) => new DatabaseManager($app, $app['db.factory']));
        $app->alias('db', ConnectionResolverInterface::class);
        $app->bind('db.connection', static fn ($app) => $app['db']->connection());
        $app->singleton('db.transactions', static fn () => new DatabaseTransactionsManager());
        Model::setConnectionResolver($app['db']);
        Model::setEventDispatcher($events);
    }

    private static function bootEncryption(HarnessContainer $app, Settings $settings): void
    {
        $key = $settings->rawAppKey();
        $app->instance('encrypter', new Encrypter($key, self::CIPHER));
        $app->alias('encrypter', EncrypterContract::class);
        $app->alias('encrypter', StringEncrypter::class);
        // As EncryptionServiceProvider does: closures (and batch callbacks) are signed with the key.
        SerializableClosure::setSecretKey($key);
    }

    private static function bootCache(HarnessContainer $app, Settings $settings): void
    {
        // Laravel 11+'s queue manager asks the cache manager whether a queue is paused.
        $app->singleton('cache', static fn ($app) => new CacheManager($app));
        if ($settings->cacheStore() !== 'array' && $settings->cacheDriver() === 'redis') {
            // Built when first used: the `redis` manager is bound with the queue, after this.
            $app->singleton('cache.store', static fn ($app) => new CacheRepository(
                new RedisStore($app['redis'], $settings->cachePrefix(), 'cache')
            ));
            $app->alias('cache.store', CacheContract::class);

            return;
        }
        $store = match (true) {
            $settings->cacheStore() === 'array' => new ArrayStore(true),
            $settings->cacheDriver() === 'database' => new DatabaseStore(
                $app['db']->connection(), 'cache', $settings->cachePrefix()
            ),
            default => new FileStore($app['files'], $settings->cacheDirectory()),
        };
        $app->instance('cache.store', new CacheRepository($store));
        $app->alias('cache.store', CacheContract::class);
    }

    private static function bootQueue(HarnessContainer $app, Settings $settings): void
    {
        $app->singleton('queue', static function ($app) {
            $manager = new QueueManager($app);
            $manager->addConnector('sync', static fn () => new SyncConnector());
            $manager->addConnector('database', static fn () => new DatabaseConnector($app['db']));
            $manager->addConnector('redis', static fn () => new RedisConnector($app['redis']));

            return $manager;
        });
        // As RedisServiceProvider binds it: the phpredis client of Debian's php-redis, or the
        // harness's in-memory client where this PHP has no phpredis (see MemoryRedis).
        $app->singleton('redis', static function ($app) {
            $config = $app['config']['database.redis'];
            $manager = new RedisManager($app, $config['client'], $config);
            $manager->extend('memory', fn () => new MemoryRedis());

            return $manager;
        });
        $app->alias('queue', QueueFactory::class);
        $app->alias('queue', QueueMonitor::class);
        $app->alias('queue', QueueManager::class);
        $app->bind('queue.connection', static fn ($app) => $app['queue']->connection());

        $app->singleton('queue.failer', static function ($app) use ($settings): FailedJobProviderInterface {
            $class = $settings->failedDriver() === 'database-uuids'
                ? DatabaseUuidFailedJobProvider::class
                : DatabaseFailedJobProvider::class;

            return new $class($app['db'], $settings->dbConnection(), $settings->failedTable());
        });

        $app->singleton(BusDispatcher::class, static fn ($app) => new BusDispatcher(
            $app,
            static fn ($connection = null) => $app[QueueFactory::class]->connection($connection),
        ));
        $app->alias(BusDispatcher::class, DispatcherContract::class);
        $app->alias(BusDispatcher::class, QueueingDispatcher::class);

        $app->singleton(BatchFactory::class, static fn ($app) => new BatchFactory($app['queue']));
        $app->singleton(DatabaseBatchRepository::class, static fn ($app) => new DatabaseBatchRepository(
            $app[BatchFactory::class],
            $app['db']->connection($settings->dbConnection()),
            'job_batches',
        ));
        $app->alias(DatabaseBatchRepository::class, BatchRepository::class);

        $app->singleton(ExceptionHandler::class, static fn () => new PrintingExceptionHandler());
        $app->singleton('queue.worker', static fn ($app) => self::newWorker($app));
        $app->alias('queue.worker', Worker::class);
    }

    /** A Laravel worker wired as QueueServiceProvider wires it. */
    public static function newWorker(HarnessContainer $app): Worker
    {
        return new Worker(
            $app['queue'],
            $app['events'],
            $app[ExceptionHandler::class],
            static fn () => $app->isDownForMaintenance(),
            static fn () => Facade::clearResolvedInstances(),
        );
    }

    /** The database connection every table of the harness lives on. */
    public function connection(): Connection
    {
        return $this->app['db']->connection($this->settings->dbConnection());
    }

    public function queue(): QueueManager
    {
        return $this->app['queue'];
    }

    /**
     * Runs one of Laravel's own console commands (resolved from the container,
     * as artisan resolves it) and returns its exit status.
     *
     * @param class-string<Command> $class
     * @param array<string, mixed> $input
     */
    public function runCommand(string $class, array $input, ?OutputInterface $output = null): int
    {
        /** @var Command $command */
        $command = $this->app->make($class);
        $command->setLaravel($this->app);
        $output ??= new StreamOutput(STDOUT, OutputInterface::VERBOSITY_NORMAL, false);

        return $command->run(new ArrayInput($input), $output);
    }
}
