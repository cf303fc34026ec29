<?php
/*
 * Small command-line plumbing shared by the scripts: `--name value` /
 * `--name=value` / `--flag` parsing against a declared option list, JSON
 * output lines, and one place that turns any error into a message and exit 1.
 */

declare(strict_types=1);

namespace Fixtures\Harness;

use RuntimeException;
use Throwable;

final class Cli
{
    /**
     * @param list<string> $argv the script's arguments (without the script name)
     * @param array<string, bool> $options option name => whether it takes a value
     * @return array{0: list<string>, 1: array<string, string|true>} positionals and options
     */
    public static function parse(array $argv, array $options): array
    {
        $positional = [];
        $given = [];
        for ($i = 0; $i < count($argv); $i++) {
            $arg = $argv[$i];
            if (! str_starts_with($arg, '--')) {
                $positional[] = $arg;
                continue;
            }
            [$name, $value] = array_pad(explode('=', substr($arg, 2), 2), 2, null);
            if (! array_key_exists($name, $options)) {
                throw new RuntimeException("unknown option --{$name}");
            }
            if (! $options[$name]) {
                $given[$name] = true;
                continue;
            }
            if ($value === null) {
                $value = $argv[++$i] ?? throw new RuntimeException("option --{$name} needs a value");
            }
            $given[$name] = $value;
        }

        return [$positional, $given];
    }

    public static function printJson(mixed $value): void
    {
        fwrite(STDOUT, json_encode($value, Describer::JSON_FLAGS) . "\n");
    }

    /** Runs a script body; any error becomes one line on stderr and exit status 1. */
    public static function main(callable $body): never
    {
        try {
            $status = $body();
        } catch (Throwable $e) {
            fwrite(STDERR, sprintf("error: %s: %s\n%s\n", get_class($e), $e->getMessage(), $e->getTraceAsString()));
            exit(1);
        }
        exit(is_int($status) ? $status : 0);
    }
}
