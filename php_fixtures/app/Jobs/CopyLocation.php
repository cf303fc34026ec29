<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;

/** Kind object_reference: one object instance held three times (serialize writes `r:N;`). */
class CopyLocation implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable;

    public $home;
    public $work;
    public $visited;

    public function __construct($home, $work, array $visited)
    {
        $this->home = $home;
        $this->work = $work;
        $this->visited = $visited;
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
