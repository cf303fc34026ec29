<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;
use RuntimeException;

/**
 * Kind fails_then_succeeds: throws on its first `failures` attempts, succeeds after.
 * Counting by attempts() keeps it stateless, so any worker (PHP or Python) sees the same.
 */
class FlakyJob implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public $tries;
    public $backoff;

    public function __construct(public int $failures = 2, ?int $tries = null, $backoff = null)
    {
        $this->tries = $tries;
        $this->backoff = $backoff;
    }

    public function handle(): void
    {
        JobLog::record($this);
        if ($this->attempts() <= $this->failures) {
            throw new RuntimeException("flaky failure on attempt {$this->attempts()}");
        }
    }
}
