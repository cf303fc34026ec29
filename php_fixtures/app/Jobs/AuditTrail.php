<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Kind protected_private: every visibility, with SerializesModels (exact mangled keys). */
class AuditTrail implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public $entryId;
    protected $actor;
    private $reason;

    public function __construct($entryId, $actor, $reason)
    {
        $this->entryId = $entryId;
        $this->actor = $actor;
        $this->reason = $reason;
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
