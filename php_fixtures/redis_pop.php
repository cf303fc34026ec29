<?php
/*
 * Pops one job with Laravel's own RedisQueue::pop() (its migrate and pop scripts) and
 * prints what it reserved, without running it: {"job": raw body, "reserved": the member
 * of :reserved, "attempts": RedisJob::attempts()}, or null when the queue was empty.
 *
 *   php redis_pop.php [QUEUE]
 */

declare(strict_types=1);

use Fixtures\Harness\Cli;

require_once __DIR__ . '/autoload.php';

Cli::main(static function (): int {
    [$positional] = Cli::parse(array_slice($_SERVER['argv'], 1), []);
    $harness = require __DIR__ . '/bootstrap.php';
    $job = $harness->queue()->connection('redis')->pop($positional[0] ?? null);
    Cli::printJson($job === null ? null : [
        'job' => $job->getRawBody(),
        'reserved' => $job->getReservedJob(),
        'attempts' => $job->attempts(),
        'id' => $job->getJobId(),
    ]);

    return 0;
});
