<?php
/*
 * Runs Laravel's own queue console commands by name, as `php artisan` would, against the
 * harness: the commands are registered on an Illuminate console application (so that
 * queue:retry-batch can call queue:retry) and the arguments are parsed by their own
 * signatures.
 *
 *   php artisan.php queue:failed | queue:forget ID | queue:flush | queue:prune-failed
 *                   | queue:clear [CONNECTION] --queue=Q --force | queue:monitor QUEUES
 *                   | queue:retry ... | queue:retry-batch ID | queue:restart
 */

declare(strict_types=1);

use Fixtures\Harness\Cli;
use Illuminate\Console\Application;
use Illuminate\Queue\Console;
use Symfony\Component\Console\Input\ArgvInput;
use Symfony\Component\Console\Output\StreamOutput;

require_once __DIR__ . '/autoload.php';

Cli::main(static function (): int {
    $harness = require __DIR__ . '/bootstrap.php';
    $artisan = new Application($harness->app, $harness->app['events'], 'harness');
    $artisan->resolveCommands([
        Console\ListFailedCommand::class,
        Console\ForgetFailedCommand::class,
        Console\FlushFailedCommand::class,
        Console\PruneFailedJobsCommand::class,
        Console\ClearCommand::class,
        Console\MonitorCommand::class,
        Console\RetryCommand::class,
        Console\RetryBatchCommand::class,
        Console\RestartCommand::class,
    ]);

    return $artisan->run(
        new ArgvInput(['artisan', ...array_slice($_SERVER['argv'], 1)]),
        new StreamOutput(STDOUT, StreamOutput::VERBOSITY_NORMAL, false),
    );
});
