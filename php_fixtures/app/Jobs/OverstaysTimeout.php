<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Kind sleeps_past_timeout: sleeps longer than its own $timeout, so the worker's alarm fires. */
class OverstaysTimeout implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public $timeout;
    public $failOnTimeout;
    public $tries;

    public function __construct(public int $seconds = 3, int $timeout = 1, bool $failOnTimeout = false, ?int $tries = null)
    {
        $this->timeout = $timeout;
        $this->failOnTimeout = $failOnTimeout;
        $this->tries = $tries;
    }

    public function handle(): void
    {
        JobLog::record($this);
        sleep($this->seconds);
    }
}
