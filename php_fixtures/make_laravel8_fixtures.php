<?php
/*
 * Writes tests/vectors/laravel8/fixtures.jsonl: every kind dispatched through
 * Debian's Laravel 8 into a throwaway SQLite database, one line per jobs row,
 * in the line format of the shared fixture set (see Fixtures\Harness\Sender).
 * The key is the harness's own fixed APP_KEY, so encrypted lines can be checked.
 *
 *   php make_laravel8_fixtures.php [OUTPUT]
 */

declare(strict_types=1);

use Fixtures\Harness\Cli;
use Fixtures\Harness\Kinds;
use Fixtures\Harness\Schema;
use Fixtures\Harness\Sender;
use Fixtures\Harness\Settings;

require_once __DIR__ . '/autoload.php';

Cli::main(static function (): int {
    $output = $_SERVER['argv'][1] ?? dirname(__DIR__) . '/tests/vectors/laravel8/fixtures.jsonl';
    $database = tempnam(sys_get_temp_dir(), 'laravel8-fixtures-');
    foreach (['DB_CONNECTION' => 'sqlite', 'DB_DATABASE' => $database, 'APP_KEY' => Settings::DEFAULT_APP_KEY,
        'QUEUE_TABLE' => 'jobs', 'QUEUE_FAILED_TABLE' => 'failed_jobs', 'QUEUE_FAILED_DRIVER' => 'database-uuids',
        'QUEUE_RETRY_AFTER' => '90', 'QUEUE_CONNECTION_NAME' => 'database'] as $name => $value) {
        putenv("{$name}={$value}");
    }
    try {
        $harness = require __DIR__ . '/bootstrap.php';
        $schema = new Schema($harness->connection(), $harness->settings);
        $schema->createQueueTables();
        $schema->createFixtureTables();
        $sender = new Sender($harness);
        $lines = [];
        foreach (array_diff(array_keys(Kinds::modes()), Kinds::LARAVEL13_KINDS) as $kind) {
            foreach ($sender->send($kind) as $line) {
                $lines[] = json_encode($line, Fixtures\Harness\Describer::JSON_FLAGS);
            }
        }
        if (! is_dir(dirname($output))) {
            mkdir(dirname($output), 0777, true);
        }
        file_put_contents($output, implode("\n", $lines) . "\n");
        fwrite(STDERR, sprintf("wrote %d lines to %s\n", count($lines), $output));
    } finally {
        unlink($database);
    }

    return 0;
});
