<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Kind records: records and succeeds; the many-job drain tests count its log rows. */
class RecordsOnly implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public function __construct(public int $n = 0, public string $tag = '')
    {
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
