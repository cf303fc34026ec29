<?php
/*
 * Serves harness requests (migrate, dispatch, work) from one booted Laravel
 * over a TCP connection to HOST:PORT; see Fixtures\Harness\Session.
 *
 *   php session.php 127.0.0.1:PORT
 */

declare(strict_types=1);

use Fixtures\Harness\Cli;
use Fixtures\Harness\Session;
use Fixtures\Harness\Settings;

require_once __DIR__ . '/autoload.php';

Cli::main(static function (): int {
    $address = $_SERVER['argv'][1] ?? throw new RuntimeException('usage: session.php HOST:PORT');
    $settings = Settings::fromEnvironment();
    if ($settings->dbConnection() === 'sqlite') {
        // Laravel refuses to open a missing SQLite file; artisan users create it by hand.
        $file = $settings->database()['connections']['sqlite']['database'];
        if (! is_file($file)) {
            touch($file);
        }
    }
    (new Session(require __DIR__ . '/bootstrap.php'))->serve($address);

    return 0;
});
