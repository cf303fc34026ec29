<?php
/*
 * Times Laravel's own dispatching inside one booted PHP process (boot excluded) and
 * prints one JSON object: {"mode", "count", "seconds"}.
 *
 *   php bench/php/time_dispatch.php single N   # N x dispatch(new RecordsOnly(...))
 *   php bench/php/time_dispatch.php bulk N     # Queue::bulk() in chunks of 500
 *   php bench/php/time_dispatch.php serve      # one "MODE N" request per stdin line, one
 *                                              # JSON answer per line, until end of input
 *
 * `serve` keeps one booted process (and its database connection) for a benchmark that
 * takes turns with other contenders in short blocks.
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

/** Seconds Laravel takes to dispatch `$count` jobs in `$mode`, or null for an unknown mode. */
function timed(string $mode, int $count, $queue): ?float
{
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
        return null;
    }
    return (hrtime(true) - $started) / 1e9;
}

function answer(string $mode, int $count, $queue): bool
{
    $seconds = timed($mode, $count, $queue);
    if ($seconds === null) {
        fwrite(STDERR, "mode must be single or bulk\n");
        return false;
    }
    echo json_encode(['mode' => $mode, 'count' => $count, 'seconds' => $seconds]), "\n";
    return true;
}

if ($mode !== 'serve') {
    exit(answer($mode, $count, $queue) ? 0 : 2);
}
while (($line = fgets(STDIN)) !== false) {
    [$asked, $n] = explode(' ', trim($line)) + ['', '0'];
    if (!answer($asked, (int) $n, $queue)) {
        exit(2);
    }
    fflush(STDOUT);
}
