<?php
/*
 * Sends fixture kinds through real Laravel and describes what landed in the
 * jobs table: one line per row, in the line format of the shared fixture set
 * (kind, class, traits, interfaces, properties, visibility, defaults, methods,
 * delay, connection, queue, row, payload and the per-kind extras).
 */

declare(strict_types=1);

namespace Fixtures\Harness;

use Illuminate\Bus\Batch;
use Illuminate\Foundation\Application;
use Illuminate\Support\Facades\Bus;
use ReflectionClass;

final class Sender
{
    public function __construct(private readonly Harness $harness)
    {
    }

    /**
     * @param array{queue?: ?string, connection?: ?string, count?: int, delay?: ?int, args?: array<string, mixed>, bulk?: bool} $options
     * @return list<array<string, mixed>> one line per dispatched job
     */
    public function send(string $kind, array $options = []): array
    {
        $mode = Kinds::mode($kind);
        // Like an application, name the connection on the job only when one was asked for.
        $named = $options['connection'] ?? null;
        $connection = $named ?? $this->harness->settings->queueConnectionName();
        $queue = $options['queue'] ?? null;
        $args = $options['args'] ?? [];
        $delay = $options['delay'] ?? Kinds::ownDelay($kind);
        $table = $this->harness->connection()->table($this->harness->settings->queueTable());
        $before = (int) $table->max('id');
        $onRedis = ($this->harness->app['config']["queue.connections.{$connection}.driver"] ?? null) === 'redis';
        $redisBefore = $onRedis ? $this->redisPayloads($connection, $queue) : [];

        $sent = [];
        $bulk = [];
        for ($index = 0; $index < ($options['count'] ?? 1); $index++) {
            if ($mode === 'string') {
                $data = Kinds::stringJobData($args);
                $pusher = $this->harness->queue()->connection($connection);
                $delay === null ? $pusher->push(Kinds::STRING_JOB, $data, $queue) : $pusher->later($delay, Kinds::STRING_JOB, $data, $queue);
                $sent[] = ['data' => $data];
                continue;
            }
            $jobs = Kinds::jobs($kind, $index, $args);
            if ($mode === 'chain') {
                $pending = Bus::chain($jobs);
                $this->route($pending, $named, $queue, $delay)->dispatch();
                $sent[] = ['job' => $jobs[0], 'chain' => array_slice($jobs, 1)];
            } elseif ($mode === 'batch') {
                $pending = Bus::batch($jobs)->name('crunch-numbers')->allowFailures();
                $batch = $this->route($pending, $named, $queue, null)->dispatch();
                foreach ($jobs as $position => $job) {
                    $sent[] = ['job' => $job, 'batch' => $batch, 'batch_index' => $position];
                }
            } elseif ($options['bulk'] ?? false) {
                $bulk[] = $jobs[0];
                $sent[] = ['job' => $jobs[0]];
            } else {
                $pending = dispatch($jobs[0]);
                $this->route($pending, $named, $queue, $delay);
                // PendingDispatch sends the job when it is destroyed, as at the end of a statement.
                unset($pending);
                $sent[] = ['job' => $jobs[0]];
            }
        }
        if ($bulk !== []) {
            $this->harness->queue()->connection($connection)->bulk($bulk, '', $queue);
        }

        $rows = $onRedis
            ? $this->redisRows($connection, $queue, $redisBefore)
            : $table->where('id', '>', $before)->orderBy('id')->get()->all();
        $lines = [];
        foreach ($sent as $position => $entry) {
            $lines[] = $this->line($kind, $connection, $entry, $rows[$position] ?? null);
        }

        return $lines;
    }

    /** @return list<string> every payload of the queue's list and delayed set */
    private function redisPayloads(string $connection, ?string $queue): array
    {
        $name = $queue ?? $this->harness->app['config']["queue.connections.{$connection}.queue"];
        $redis = $this->harness->app['redis']->connection();

        return array_merge($redis->lrange("queues:{$name}", 0, -1), $redis->zrange("queues:{$name}:delayed", 0, -1));
    }

    /**
     * The payloads this dispatch added, as row-like objects (Redis keeps no row: queue,
     * attempts from the payload, available_at = created_at = 0 and no id).
     *
     * @param list<string> $before
     * @return list<object>
     */
    private function redisRows(string $connection, ?string $queue, array $before): array
    {
        $name = $queue ?? $this->harness->app['config']["queue.connections.{$connection}.queue"];
        $rows = [];
        foreach (array_values(array_diff($this->redisPayloads($connection, $queue), $before)) as $payload) {
            $rows[] = (object) [
                'id' => 0, 'queue' => $name, 'attempts' => json_decode($payload, true)['attempts'] ?? 0,
                'reserved_at' => null, 'available_at' => 0, 'created_at' => 0, 'payload' => $payload,
            ];
        }

        return $rows;
    }

    private function route(object $pending, ?string $connection, ?string $queue, mixed $delay): object
    {
        if ($connection !== null) {
            $pending->onConnection($connection);
        }
        if ($queue !== null) {
            $pending->onQueue($queue);
        }
        if ($delay !== null) {
            $pending->delay($delay);
        }

        return $pending;
    }

    /** @return array<string, mixed> */
    private function line(string $kind, string $connection, array $entry, ?object $row): array
    {
        $describer = new Describer();
        $line = ['laravel' => Application::VERSION, 'php' => PHP_VERSION, 'kind' => $kind];
        if (isset($entry['job'])) {
            $job = $entry['job'];
            $line += self::classInfo($job);
            $line['delay'] = $describer->describe($job->delay ?? null);
        } else {
            $line += ['class' => explode('@', Kinds::STRING_JOB)[0], 'properties' => (object) [], 'delay' => null];
            $line['job'] = Kinds::STRING_JOB;
            $line['data'] = $describer->describe($entry['data'], '/data');
        }
        $line['connection'] = $connection;
        $line['queue'] = $row?->queue;
        $line['available_at_minus_created_at'] = $row === null ? null : (int) $row->available_at - (int) $row->created_at;
        $line['row'] = $row === null ? null : [
            'id' => (int) $row->id,
            'queue' => $row->queue,
            'attempts' => (int) $row->attempts,
            'reserved_at' => $row->reserved_at === null ? null : (int) $row->reserved_at,
            'available_at' => (int) $row->available_at,
            'created_at' => (int) $row->created_at,
        ];
        $line['payload'] = $row?->payload;

        if ($kind === 'encrypted') {
            $line['app_key'] = $this->harness->settings->appKey();
            $line['cipher'] = Harness::CIPHER;
        }
        if (isset($entry['chain'])) {
            $line['chained'] = array_map(static fn (object $next): array => self::classInfo($next), $entry['chain']);
            $line['chained_commands'] = $entry['job']->chained;
        }
        if (isset($entry['batch'])) {
            $line['batch_index'] = $entry['batch_index'];
            $line['batch'] = $this->batchRow($entry['batch']);
        }

        return $line;
    }

    /** @return array<string, mixed> */
    public static function classInfo(object $job): array
    {
        $class = new ReflectionClass($job);
        $traits = array_map(static fn (string $trait): string => substr(strrchr('\\' . $trait, '\\'), 1), array_keys(class_uses($job)));
        sort($traits);
        $interfaces = array_values(array_filter(
            $class->getInterfaceNames(),
            static fn (string $name): bool => str_starts_with($name, 'Illuminate\\Contracts\\Queue\\'),
        ));
        $info = ['class' => get_class($job), 'traits' => $traits, 'interfaces' => $interfaces] + Describer::job($job);
        if (method_exists($job, 'retryUntil')) {
            $info['methods'] = ['retryUntil' => (new Describer())->describe($job->retryUntil())];
        }

        return $info;
    }

    /** @return array<string, mixed> the job_batches row as stored */
    private function batchRow(Batch $batch): array
    {
        $row = (array) $this->harness->connection()->table(Schema::BATCHES)->where('id', $batch->id)->first();
        foreach (['total_jobs', 'pending_jobs', 'failed_jobs', 'cancelled_at', 'created_at', 'finished_at'] as $column) {
            $row[$column] = $row[$column] === null ? null : (int) $row[$column];
        }

        return $row;
    }
}
