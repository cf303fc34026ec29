<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Kind releases: records its attempt and calls $this->release($releaseDelay) on its first `times` attempts. */
class ReleasesItself implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public $tries;

    public function __construct(public int $releaseDelay = 5, public int $times = 1, ?int $tries = null)
    {
        $this->tries = $tries;
    }

    public function handle(): void
    {
        JobLog::record($this);
        if ($this->attempts() <= $this->times) {
            $this->release($this->releaseDelay);
        }
    }
}
