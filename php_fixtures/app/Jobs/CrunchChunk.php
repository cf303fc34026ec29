<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Batchable;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Kind batch: Batchable jobs sent with Bus::batch([...]). */
class CrunchChunk implements ShouldQueue
{
    use Batchable, Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public $chunk;
    public $rows;

    public function __construct($chunk, array $rows)
    {
        $this->chunk = $chunk;
        $this->rows = $rows;
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
