<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Kind dates: native and Carbon dates; timezone types 1 (offset), 2 (abbreviation), 3 (identifier). */
class PlanMeeting implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public $startsAt;
    public $endsAt;
    public $bookedAt;
    public $deadline;
    public $reminder;
    public $offsetStamp;
    public $abbreviationStamp;

    public function __construct($startsAt, $endsAt, $bookedAt, $deadline, $reminder, $offsetStamp, $abbreviationStamp)
    {
        $this->startsAt = $startsAt;
        $this->endsAt = $endsAt;
        $this->bookedAt = $bookedAt;
        $this->deadline = $deadline;
        $this->reminder = $reminder;
        $this->offsetStamp = $offsetStamp;
        $this->abbreviationStamp = $abbreviationStamp;
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
