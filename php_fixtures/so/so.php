<?php
// Drives the SO framework's own queue classes, loaded from its folder (argv[1]):
//   push       stdin: JSON lines {"class", "props": base64 serialize(array), "queue", "delay"};
//              each job is built with `new $class()`, given the props, and pushed with
//              DatabaseQueue::push (or later() with a delay); prints {"id": ...} per job
//   serialize  the same input; prints base64 of Job::serialize() per job (no database)
//   work       argv[3] queue, argv[4] --tries: Worker::runNextJob until no job is left
//   push-noop, work-timed  the same, timed, for bench/bench_so.py
// The database comes from SO_DB_HOST, SO_DB_PORT, SO_DB_DATABASE, SO_DB_USERNAME,
// SO_DB_PASSWORD; the queue config is the framework's own config/queue.php.

$dir = rtrim($argv[1], '/');
putenv('SO_FRAMEWORK_DIR=' . $dir);
require __DIR__ . '/autoload.php';
require __DIR__ . '/jobs.php';

function so_jobs(): array
{
    $jobs = [];
    while (($line = fgets(STDIN)) !== false) {
        if (trim($line) === '') {
            continue;
        }
        $spec = json_decode($line, true, 512, JSON_THROW_ON_ERROR);
        $job = new $spec['class']();
        $props = unserialize(base64_decode($spec['props']));
        // Set from inside the class, as the app's constructor would.
        (function (array $props): void {
            foreach ($props as $name => $value) {
                $this->$name = $value;
            }
        })->call($job, $props);
        $jobs[] = [$job, $spec['queue'] ?? null, (int)($spec['delay'] ?? 0)];
    }
    return $jobs;
}

function so_manager(): Core\Queue\QueueManager
{
    global $dir;
    $connection = new Core\Database\Connection([
        'driver' => 'mysql',
        'host' => getenv('SO_DB_HOST'),
        'port' => (int)getenv('SO_DB_PORT'),
        'database' => getenv('SO_DB_DATABASE'),
        'username' => getenv('SO_DB_USERNAME'),
        'password' => getenv('SO_DB_PASSWORD') ?: '',
    ]);
    $config = require $dir . '/config/queue.php';
    return new Core\Queue\QueueManager($connection, $config);
}

$command = $argv[2];
if ($command === 'serialize') {
    foreach (so_jobs() as [$job]) {
        echo base64_encode($job->serialize()), "\n";
    }
} elseif ($command === 'push') {
    $manager = so_manager();
    foreach (so_jobs() as [$job, $queue, $delay]) {
        $id = $delay > 0 ? $manager->later($job, $delay, $queue) : $manager->push($job, $queue);
        echo json_encode(['id' => (int)$id]), "\n";
    }
} elseif ($command === 'work') {
    $worker = new Core\Queue\Worker(so_manager());
    $options = ['max_tries' => (int)$argv[4]];
    while ($worker->runNextJob($argv[3], $options)) {
    }
} elseif ($command === 'push-noop') {
    // Benchmark: argv[3] jobs pushed one by one, as an app dispatches; prints the seconds.
    $manager = so_manager();
    $manager->size('default'); // connect before the clock starts
    $started = microtime(true);
    for ($n = 0; $n < (int)$argv[3]; $n++) {
        $job = new SoFixture\Noop();
        $job->n = $n;
        $manager->push($job);
    }
    echo microtime(true) - $started, "\n";
} elseif ($command === 'work-timed') {
    // Benchmark: `work`, its lines on stdout as usual; the seconds from the first pop on stderr.
    $worker = new Core\Queue\Worker(so_manager());
    $started = microtime(true);
    while ($worker->runNextJob($argv[3], ['max_tries' => 3])) {
    }
    fwrite(STDERR, (microtime(true) - $started) . "\n");
} else {
    fwrite(STDERR, "unknown command $command\n");
    exit(2);
}
