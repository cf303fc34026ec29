<?php
/*
 * One booted harness serving many requests, so a test module pays PHP's start
 * and Laravel's boot once (the WebAssembly PHP takes a second or two to start).
 * Requests and replies are JSON lines over a TCP connection the test opened
 * (this PHP cannot read a pipe on stdin while it waits): each request names an
 * `op` (migrate, dispatch, work, quit) with the options of the script of that
 * name; each reply is {"ok": true, "result": ...} or {"ok": false, "error": "..."}.
 */

declare(strict_types=1);

namespace Fixtures\Harness;

use RuntimeException;
use Throwable;

final class Session
{
    private readonly DirectWorker $worker;

    public function __construct(private readonly Harness $harness)
    {
        $this->worker = new DirectWorker($harness);
    }

    /** Serves requests from `$address` (host:port) until `quit` or the peer closes. */
    public function serve(string $address): void
    {
        $socket = stream_socket_client("tcp://{$address}", $errno, $error, 30);
        if ($socket === false) {
            throw new RuntimeException("cannot connect to {$address}: {$error}");
        }
        stream_set_timeout($socket, 86400);
        while (($line = fgets($socket)) !== false) {
            $request = json_decode($line, true, 512, JSON_THROW_ON_ERROR);
            if (($request['op'] ?? null) === 'quit') {
                fwrite($socket, json_encode(['ok' => true, 'result' => null]) . "\n");
                break;
            }
            try {
                $reply = ['ok' => true, 'result' => $this->handle($request)];
            } catch (Throwable $e) {
                $reply = ['ok' => false, 'error' => sprintf("%s: %s\n%s", get_class($e), $e->getMessage(), $e->getTraceAsString())];
            }
            fwrite($socket, json_encode($reply, Describer::JSON_FLAGS) . "\n");
        }
        fclose($socket);
    }

    /** @param array<string, mixed> $request */
    private function handle(array $request): mixed
    {
        $options = $request['options'] ?? [];

        return match ($request['op'] ?? null) {
            'migrate' => $this->migrate($options),
            'dispatch' => (new Sender($this->harness))->send((string) $request['kind'], $options),
            'work' => $this->worker->run($options),
            default => throw new RuntimeException('unknown op: ' . json_encode($request['op'] ?? null)),
        };
    }

    /**
     * As migrate.php: drop the harness tables first with `fresh`, then create them.
     *
     * @param array<string, mixed> $options
     * @return array{created: list<string>, dropped: list<string>}
     */
    private function migrate(array $options): array
    {
        $schema = new Schema($this->harness->connection(), $this->harness->settings);
        $dropped = [];
        if ($options['fresh'] ?? false) {
            $dropped = $schema->tables();
            $schema->dropAll();
        }

        return ['created' => [...$schema->createQueueTables(), ...$schema->createFixtureTables()], 'dropped' => $dropped];
    }
}
