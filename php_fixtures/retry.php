<?php
/*
 * Runs Laravel's own `queue:retry` command (Illuminate\Queue\Console\RetryCommand)
 * against the harness, so bridge's retry tool can be compared with Laravel's.
 *
 *   php retry.php ID... | all  [--queue Q] [--range 1-5]...
 */

declare(strict_types=1);

use Fixtures\Harness\Cli;
use Illuminate\Queue\Console\RetryCommand;

require_once __DIR__ . '/autoload.php';

Cli::main(static function (): int {
    $argv = array_slice($_SERVER['argv'], 1);
    $ranges = [];
    // --range may repeat, which the small option parser does not model; collect it first.
    foreach ($argv as $i => $arg) {
        if ($arg === '--range' && isset($argv[$i + 1])) {
            $ranges[] = $argv[$i + 1];
            unset($argv[$i], $argv[$i + 1]);
        } elseif (str_starts_with($arg, '--range=')) {
            $ranges[] = substr($arg, 8);
            unset($argv[$i]);
        }
    }
    [$ids, $options] = Cli::parse(array_values($argv), ['queue' => true]);
    $harness = require __DIR__ . '/bootstrap.php';
    $input = ['id' => $ids];
    if (isset($options['queue'])) {
        $input['--queue'] = $options['queue'];
    }
    if ($ranges !== []) {
        $input['--range'] = $ranges;
    }

    return $harness->runCommand(RetryCommand::class, $input);
});
