<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/**
 * Kind fails_manually: records its attempt and calls $this->fail($reason). Laravel 8 passes
 * the string on as the "exception", so failed_jobs.exception holds the bare reason.
 */
class FailsManually implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public function __construct(public string $reason = 'reason')
    {
    }

    public function handle(): void
    {
        JobLog::record($this);
        $this->fail($this->reason);
    }
}
