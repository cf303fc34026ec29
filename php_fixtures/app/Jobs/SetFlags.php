<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Kind null_bool: null and bool values, typed and untyped, with and without defaults. */
class SetFlags implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public $enabled;
    public $archived;
    public $note;
    public ?int $limit = null;
    public bool $strict = false;

    public function __construct($enabled, $archived, $note = null, ?int $limit = null, bool $strict = false)
    {
        $this->enabled = $enabled;
        $this->archived = $archived;
        $this->note = $note;
        $this->limit = $limit;
        $this->strict = $strict;
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
