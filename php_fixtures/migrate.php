<?php
/*
 * Creates the harness tables with Laravel's schema builder.
 *
 *   php migrate.php [--fresh] [--drop] [--only=queue|fixtures]
 *
 * --fresh drops every table the harness knows first; --drop only drops them.
 * Prints {"created": [...], "dropped": [...]}.
 */

declare(strict_types=1);

use Fixtures\Harness\Cli;
use Fixtures\Harness\Schema;
use Fixtures\Harness\Settings;

require_once __DIR__ . '/autoload.php';

Cli::main(static function (): int {
    [, $options] = Cli::parse(array_slice($_SERVER['argv'], 1), ['fresh' => false, 'drop' => false, 'only' => true]);
    $settings = Settings::fromEnvironment();
    if ($settings->dbConnection() === 'sqlite') {
        // Laravel refuses to open a missing SQLite file; artisan users create it by hand.
        $file = $settings->database()['connections']['sqlite']['database'];
        if (! is_file($file)) {
            touch($file);
        }
    }
    $harness = require __DIR__ . '/bootstrap.php';
    $schema = new Schema($harness->connection(), $harness->settings);

    $dropped = [];
    if (isset($options['fresh']) || isset($options['drop'])) {
        $dropped = $schema->tables();
        $schema->dropAll();
    }
    $created = [];
    if (! isset($options['drop'])) {
        $only = $options['only'] ?? null;
        if ($only !== null && ! in_array($only, ['queue', 'fixtures'], true)) {
            throw new RuntimeException('--only must be queue or fixtures');
        }
        if ($only !== 'fixtures') {
            $created = array_merge($created, $schema->createQueueTables());
        }
        if ($only !== 'queue') {
            $created = array_merge($created, $schema->createFixtureTables());
        }
    }
    Cli::printJson(['created' => $created, 'dropped' => $dropped]);

    return 0;
});
