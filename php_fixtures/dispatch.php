<?php
/*
 * Dispatches a fixture kind through real Laravel and prints one JSON line per
 * job row it created (see Fixtures\Harness\Sender for the line format).
 *
 *   php dispatch.php KIND [--queue Q] [--connection C] [--count N] [--delay S]
 *                         [--args JSON] [--bulk]
 *
 * --args is a JSON object of named constructor arguments replacing the kind's
 * defaults (for string_job: keys merged into the data array). --bulk sends
 * --count jobs with one Queue::bulk() insert instead of one dispatch each.
 * `php dispatch.php --list` prints the kinds.
 */

declare(strict_types=1);

use Fixtures\Harness\Cli;
use Fixtures\Harness\Kinds;
use Fixtures\Harness\Sender;

require_once __DIR__ . '/autoload.php';

Cli::main(static function (): int {
    [$positional, $options] = Cli::parse(array_slice($_SERVER['argv'], 1), [
        'queue' => true, 'connection' => true, 'count' => true, 'delay' => true, 'args' => true,
        'bulk' => false, 'list' => false,
    ]);
    $harness = require __DIR__ . '/bootstrap.php';
    if (isset($options['list'])) {
        Cli::printJson(Kinds::modes());

        return 0;
    }
    if (count($positional) !== 1) {
        throw new RuntimeException('usage: dispatch.php KIND [options]');
    }
    $args = isset($options['args']) ? json_decode($options['args'], true, 512, JSON_THROW_ON_ERROR) : [];
    if (! is_array($args) || ($args !== [] && array_is_list($args))) {
        throw new RuntimeException('--args must be a JSON object');
    }
    $lines = (new Sender($harness))->send($positional[0], [
        'queue' => $options['queue'] ?? null,
        'connection' => $options['connection'] ?? null,
        'count' => (int) ($options['count'] ?? 1),
        'delay' => isset($options['delay']) ? (int) $options['delay'] : null,
        'args' => $args,
        'bulk' => isset($options['bulk']),
    ]);
    foreach ($lines as $line) {
        Cli::printJson($line);
    }

    return 0;
});
