<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use DateTimeImmutable;
use DateTimeZone;
use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Kind job_options: tries, timeout, backoff list, maxExceptions, failOnTimeout and retryUntil(). */
class ImportLedger implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public $tries = 3;
    public $timeout = 45;
    public $backoff = [2, 10, 60];
    public $maxExceptions = 2;
    public $failOnTimeout = true;
    public $file;

    public function __construct($file)
    {
        $this->file = $file;
    }

    public function retryUntil(): DateTimeImmutable
    {
        return new DateTimeImmutable('2035-06-30 12:00:00', new DateTimeZone('UTC'));
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
