<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Data\Parcel;
use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;
use stdClass;

/** Kind nested_object: an own class with every visibility holding another object, and stdClass. */
class PackOrder implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public function __construct(public string $orderRef, public Parcel $parcel, public stdClass $extras)
    {
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
