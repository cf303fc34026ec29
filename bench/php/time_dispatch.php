<?php
/*
 * Times Laravel's own dispatching inside one booted PHP process (boot excluded) and
 * prints one JSON object: {"mode", "count", "seconds"}.
 *
 *   php bench/php/time_dispatch.php single N   # N x dispatch(new RecordsOnly(...))
 *   php bench/php/time_dispatch.php bulk N     # Queue::bulk() in chunks of 500
 *
 * Runs with the harness's environment (DB_*, QUEUE_*) like php_fixtures/dispatch.php.
 */

declare(strict_types=1);

use Fixtures\Jobs\RecordsOnly;

require_once __DIR__ . '/../../php_fixtures/autoload.php';

$harness = require __DIR__ . '/../../php_fixtures/bootstrap.php';
[, $mode, $count] = $argv + [null, 'single', '1000'];
$count = (int) $count;
$queue = $harness->queue()->connection($harness->settings->queueConnectionName());

$started = hrtime(true);
if ($mode === 'single') {
    for ($i = 0; $i < $count; $i++) {
        dispatch(new RecordsOnly($i, 'bench'))->onQueue('bench');
    }
} elseif ($mode === 'bulk') {
    for ($start = 0; $start < $count; $start += 500) {
        $jobs = [];
        for ($i = $start; $i < min($start + 500, $count); $i++) {
            $jobs[] = new RecordsOnly($i, 'bench');
        }
        $queue->bulk($jobs, '', 'bench');
    }
} else {
    fwrite(STDERR, "mode must be single or bulk\n");
    exit(2);
}
$seconds = (hrtime(true) - $started) / 1e9;
echo json_encode(['mode' => $mode, 'count' => $count, 'seconds' => $seconds]), "\n";
