<?php
/*
 * Runs Laravel's own `queue:restart` command (Illuminate\Queue\Console\RestartCommand)
 * against the harness: it stores the restart signal in the harness's cache store (set
 * FIXTURE_CACHE_DRIVER=database for Laravel's `cache` table).
 *
 *   php restart.php
 */

declare(strict_types=1);

use Fixtures\Harness\Cli;
use Illuminate\Queue\Console\RestartCommand;

require_once __DIR__ . '/autoload.php';

Cli::main(static function (): int {
    $harness = require __DIR__ . '/bootstrap.php';

    return $harness->runCommand(RestartCommand::class, []);
});
