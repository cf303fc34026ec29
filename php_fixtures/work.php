<?php
/*
 * Runs Laravel's own `queue:work` command (Illuminate\Queue\Console\WorkCommand)
 * against the harness: Worker::daemon(), or runNextJob() with --once, the
 * Processing/Processed/Failed lines on stdout, and the JobFailed listener that
 * writes failed_jobs through the failed-job provider. SIGTERM finishes the
 * current job and exits 0; a job timeout makes the worker kill itself (SIGKILL).
 * Under LARAVEL_FRAMEWORK=12.x/13.x, whose command needs a newer symfony/console
 * than Debian's, Laravel's Worker runs without it (Fixtures\Harness\DirectWorker).
 *
 *   php work.php [CONNECTION] [--queue a,b] [--once] [--stop-when-empty] [--tries N]
 *                [--backoff S] [--timeout S] [--sleep S] [--rest S] [--max-jobs N]
 *                [--max-time S] [--memory MB] [--name N] [--force] [--quiet]
 *
 * --quiet runs the command at Symfony's quiet verbosity, as `queue:work --quiet` does: no
 * line per job.
 */

declare(strict_types=1);

use Fixtures\Harness\Cli;
use Fixtures\Harness\DirectWorker;
use Illuminate\Queue\Console\WorkCommand;
use Symfony\Component\Console\Output\OutputInterface;
use Symfony\Component\Console\Output\StreamOutput;

require_once __DIR__ . '/autoload.php';

Cli::main(static function (): int {
    $valued = ['queue', 'tries', 'backoff', 'timeout', 'sleep', 'rest', 'max-jobs', 'max-time', 'memory', 'name'];
    $flags = ['once', 'stop-when-empty', 'force', 'quiet'];
    [$positional, $options] = Cli::parse(
        array_slice($_SERVER['argv'], 1),
        array_fill_keys($valued, true) + array_fill_keys($flags, false),
    );
    $quiet = (bool) ($options['quiet'] ?? false);
    unset($options['quiet']);
    $harness = require __DIR__ . '/bootstrap.php';
    if (! in_array((string) getenv('LARAVEL_FRAMEWORK'), ['', '8'], true)) {
        $direct = $options + ($positional === [] ? [] : ['connection' => $positional[0]]);
        $done = (new DirectWorker($harness))->run($direct);
        foreach ($quiet ? [] : $done['lines'] as $line) {
            fwrite(STDOUT, $line . "\n");
        }

        return $done['status'];
    }
    $input = [];
    if ($positional !== []) {
        $input['connection'] = $positional[0];
    }
    foreach ($options as $name => $value) {
        $input["--{$name}"] = $value;
    }
    $verbosity = $quiet ? OutputInterface::VERBOSITY_QUIET : OutputInterface::VERBOSITY_NORMAL;

    return $harness->runCommand(WorkCommand::class, $input, new StreamOutput(STDOUT, $verbosity, false));
});
