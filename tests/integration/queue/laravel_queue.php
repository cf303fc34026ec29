<?php
/*
 * Laravel 8's own database classes, driven from the queue storage tests.
 *
 *   php laravel_queue.php '<json request>'
 *
 * The request names a DB connection config (as config/database.php would hold it), the
 * table names and one operation; the answer is one JSON object on stdout. Operations:
 *   schema      create jobs / failed_jobs / job_batches with Laravel's schema builder,
 *               using the column definitions of the migration stubs
 *   push        DatabaseQueue::pushRaw, or its INSERT with a delay (as later() runs it)
 *   pop         DatabaseQueue::pop, then optionally release / delete the job
 *   failed_log  DatabaseUuidFailedJobProvider (or DatabaseFailedJobProvider)::log
 *   failed_all  the provider's all()
 *   batch       DatabaseBatchRepository: decrementPendingJobs / incrementFailedJobs
 */

declare(strict_types=1);

require '/usr/share/php/Illuminate/autoload.php';

use Illuminate\Bus\BatchFactory;
use Illuminate\Bus\DatabaseBatchRepository;
use Illuminate\Container\Container;
use Illuminate\Database\Capsule\Manager as Capsule;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Queue\DatabaseQueue;
use Illuminate\Queue\QueueManager;
use Illuminate\Queue\Failed\DatabaseFailedJobProvider;
use Illuminate\Queue\Failed\DatabaseUuidFailedJobProvider;
use Illuminate\Support\Carbon;

$request = json_decode($argv[1], true, 512, JSON_THROW_ON_ERROR);
$capsule = new Capsule();
$capsule->addConnection($request['connection']);
$capsule->setAsGlobal();
$db = $capsule->getConnection();
$tables = $request['tables'];
if (isset($request['now'])) {
    Carbon::setTestNow(Carbon::createFromTimestamp($request['now']));
}

$queue = static function () use ($db, $tables, $request): DatabaseQueue {
    $queue = new DatabaseQueue($db, $tables['jobs'], 'default', $request['retry_after'] ?? 90);
    $queue->setContainer(new Container());
    $queue->setConnectionName('database');

    return $queue;
};

$failedProvider = static function () use ($capsule, $tables, $request) {
    $resolver = $capsule->getDatabaseManager();

    return ($request['uuid_layout'] ?? true)
        ? new DatabaseUuidFailedJobProvider($resolver, 'default', $tables['failed'])
        : new DatabaseFailedJobProvider($resolver, 'default', $tables['failed']);
};

$answer = match ($request['op']) {
    'schema' => (static function () use ($db, $tables, $request): array {
        $schema = $db->getSchemaBuilder();
        $schema->create($tables['jobs'], static function (Blueprint $table): void {
            $table->bigIncrements('id');
            $table->string('queue')->index();
            $table->longText('payload');
            $table->unsignedTinyInteger('attempts');
            $table->unsignedInteger('reserved_at')->nullable();
            $table->unsignedInteger('available_at');
            $table->unsignedInteger('created_at');
        });
        $schema->create($tables['failed'], static function (Blueprint $table) use ($request): void {
            $table->id();
            if ($request['uuid_layout'] ?? true) {
                $table->string('uuid')->unique();
            }
            $table->text('connection');
            $table->text('queue');
            $table->longText('payload');
            $table->longText('exception');
            $table->timestamp('failed_at')->useCurrent();
        });
        // The 9.44+ stub (longText ids); 8.x stubs used text.
        $schema->create($tables['batches'], static function (Blueprint $table): void {
            $table->string('id')->primary();
            $table->string('name');
            $table->integer('total_jobs');
            $table->integer('pending_jobs');
            $table->integer('failed_jobs');
            $table->longText('failed_job_ids');
            $table->mediumText('options')->nullable();
            $table->integer('cancelled_at')->nullable();
            $table->integer('created_at');
            $table->integer('finished_at')->nullable();
        });

        return ['created' => array_values($tables)];
    })(),
    // later() would wrap a raw payload in a new one; the raw INSERT with a delay is protected.
    'push' => ['id' => isset($request['delay'])
        ? (fn () => $this->pushToDatabase($request['queue'], $request['payload'], $request['delay']))
            ->call($queue())
        : $queue()->pushRaw($request['payload'], $request['queue'])],
    'pop' => (static function () use ($queue, $request): array {
        $job = $queue()->pop($request['queue']);
        if ($job === null) {
            return ['job' => null];
        }
        $record = $job->getJobRecord();
        $answer = ['job' => [
            'id' => (int) $job->getJobId(),
            'attempts' => $job->attempts(),
            'payload' => $job->getRawBody(),
            'reserved_at' => (int) $record->reserved_at,
        ]];
        if (($request['then'] ?? null) === 'release') {
            $job->release($request['delay'] ?? 0);
        } elseif (($request['then'] ?? null) === 'delete') {
            $job->delete();
        }

        return $answer;
    })(),
    'failed_log' => ['id' => $failedProvider()->log(
        $request['connection_name'], $request['queue'], $request['payload'], $request['exception']
    )],
    'failed_all' => ['rows' => array_map(
        static fn ($row) => (array) $row,
        $failedProvider()->all()
    )],
    'batch' => (static function () use ($db, $tables, $request): array {
        $repository = new DatabaseBatchRepository(
            new BatchFactory(new QueueManager(new Container())), $db, $tables['batches']
        );
        $counts = $request['event'] === 'success'
            ? $repository->decrementPendingJobs($request['batch_id'], $request['job_uuid'])
            : $repository->incrementFailedJobs($request['batch_id'], $request['job_uuid']);

        return ['pending' => $counts->pendingJobs, 'failed' => $counts->failedJobs];
    })(),
};

echo json_encode($answer, JSON_THROW_ON_ERROR | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\n";
