<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;

/** Kind native_visibility: every visibility WITHOUT SerializesModels (native serialization). */
class ArchiveTicket implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable;

    public $ticket;
    protected $owner;
    private $note = 'none';

    public function __construct($ticket, $owner, $note = 'none')
    {
        $this->ticket = $ticket;
        $this->owner = $owner;
        $this->note = $note;
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
