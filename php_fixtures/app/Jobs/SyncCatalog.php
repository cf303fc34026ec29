<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Kind nested_arrays: int, string, numeric-string, empty and unicode keys; escapes; big ints. */
class SyncCatalog implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public $catalog;
    public $labels;

    public function __construct(array $catalog, array $labels)
    {
        $this->catalog = $catalog;
        $this->labels = $labels;
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
