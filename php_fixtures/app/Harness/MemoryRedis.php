<?php
/*
 * A Redis client in PHP arrays, for the WebAssembly PHP 8.3 of the live Laravel 12/13 tests:
 * it has neither phpredis nor sockets, so Laravel's RedisQueue cannot reach a server there.
 * Laravel's own RedisQueue still builds every payload and hands it to this client, so what
 * lands here is the bytes that version would have sent to Redis. It keeps lists and sorted
 * sets and runs the two push scripts of Illuminate\Queue\LuaScripts (push, and later where
 * the version has it); any other script is refused rather than guessed. Popping and the
 * worker's scripts are proven against a real Redis with Laravel 8, not here.
 *
 * It is the connector (`RedisManager::extend('memory', ...)`), the connection and the client
 * in one: one instance per connection name, as the manager caches connections.
 */

declare(strict_types=1);

namespace Fixtures\Harness;

use Closure;
use Illuminate\Queue\LuaScripts;
use Illuminate\Redis\Connections\Connection;
use RuntimeException;

final class MemoryRedis extends Connection
{
    /** @var array<string, list<string>> */
    private array $lists = [];

    /** @var array<string, array<string, float>> member => score */
    private array $sorted = [];

    public function __construct()
    {
        $this->client = $this;
    }

    /** The connector's method: this object is the connection. */
    public function connect(array $config, array $options): self
    {
        return $this;
    }

    public function createSubscription($channels, Closure $callback, $method = 'subscribe')
    {
        throw new RuntimeException('MemoryRedis has no pub/sub');
    }

    public function eval(string $script, int $keyCount, mixed ...$arguments): mixed
    {
        $keys = array_slice($arguments, 0, $keyCount);
        $values = array_slice($arguments, $keyCount);
        if ($script === LuaScripts::push()) {
            // RPUSH the payload, then a notify token, as the push script does.
            $this->rpush($keys[0], $values[0]);
            $this->rpush($keys[1], '1');

            return null;
        }
        if (method_exists(LuaScripts::class, 'later') && $script === LuaScripts::later()) {
            return $this->zadd($keys[0], $values[0], $values[1]);
        }
        throw new RuntimeException('MemoryRedis runs only the push scripts, not: ' . substr($script, 0, 80));
    }

    public function rpush(string $key, string ...$values): int
    {
        foreach ($values as $value) {
            $this->lists[$key][] = $value;
        }

        return count($this->lists[$key] ?? []);
    }

    public function zadd(string $key, mixed ...$pairs): int
    {
        $added = 0;
        for ($i = 0; $i + 1 < count($pairs); $i += 2) {
            $added += isset($this->sorted[$key][$pairs[$i + 1]]) ? 0 : 1;
            $this->sorted[$key][(string) $pairs[$i + 1]] = (float) $pairs[$i];
        }

        return $added;
    }

    /** @return list<string> */
    public function lrange(string $key, int $start, int $stop): array
    {
        $list = $this->lists[$key] ?? [];

        return array_slice($list, $start, $stop < 0 ? count($list) + $stop + 1 - $start : $stop - $start + 1);
    }

    /** @return list<string> members by score, then by member, as Redis orders them */
    public function zrange(string $key, int $start, int $stop): array
    {
        $set = $this->sorted[$key] ?? [];
        $members = array_map('strval', array_keys($set));
        usort($members, static fn (string $a, string $b): int => [$set[$a], $a] <=> [$set[$b], $b]);

        return array_slice($members, $start, $stop < 0 ? count($members) + $stop + 1 - $start : $stop - $start + 1);
    }

    public function llen(string $key): int
    {
        return count($this->lists[$key] ?? []);
    }

    public function zcard(string $key): int
    {
        return count($this->sorted[$key] ?? []);
    }

    public function del(string ...$keys): int
    {
        $gone = 0;
        foreach ($keys as $key) {
            $gone += (int) (isset($this->lists[$key]) || isset($this->sorted[$key]));
            unset($this->lists[$key], $this->sorted[$key]);
        }

        return $gone;
    }

    /** Queue::bulk's pipeline and transaction: the commands run as they come. */
    public function pipeline(?callable $callback = null): array
    {
        if ($callback !== null) {
            $callback($this);
        }

        return [];
    }

    public function transaction(?callable $callback = null): array
    {
        return $this->pipeline($callback);
    }
}
