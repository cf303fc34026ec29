<?php
/*
 * Shows what PHP sees in a payload without running the job: reads a jobs.payload
 * text (JSON) or a bare data.command on stdin, decrypts it with APP_KEY when it
 * does not start with `O:` (as CallQueuedHandler does), unserializes it with the
 * fixture classes loaded, and prints the value description of the job's own
 * declared properties: {"class", "encrypted", "properties", "visibility", "defaults"}.
 * Models inside are restored from the database, as the worker would restore them.
 */

declare(strict_types=1);

use Fixtures\Harness\Cli;
use Fixtures\Harness\Describer;
use Illuminate\Contracts\Encryption\Encrypter;

require_once __DIR__ . '/autoload.php';

Cli::main(static function (): int {
    $harness = require __DIR__ . '/bootstrap.php';
    $input = stream_get_contents(STDIN);
    $command = $input;
    if (str_starts_with(ltrim($input), '{')) {
        $payload = json_decode($input, true, 512, JSON_THROW_ON_ERROR);
        $command = $payload['data']['command'] ?? throw new RuntimeException('the payload has no data.command');
    }
    $encrypted = ! str_starts_with($command, 'O:');
    if ($encrypted) {
        $command = $harness->app[Encrypter::class]->decrypt($command);
    }
    // Laravel turns unserialize() notices into exceptions; do the same so bad input fails loudly.
    set_error_handler(static function (int $level, string $message): bool {
        if ($level & (E_DEPRECATED | E_USER_DEPRECATED)) {
            return true;
        }
        throw new ErrorException($message, 0, $level);
    });
    $value = unserialize($command);
    restore_error_handler();
    if (! is_object($value) || $value instanceof __PHP_Incomplete_Class) {
        Cli::printJson(['class' => null, 'encrypted' => $encrypted, 'value' => (new Describer())->describe($value)]);

        return 0;
    }
    Cli::printJson(['class' => get_class($value), 'encrypted' => $encrypted] + Describer::job($value));

    return 0;
});
