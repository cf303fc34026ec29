<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Enums\Medium;
use Fixtures\Enums\ShipmentState;
use Fixtures\Enums\Urgency;
use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Kind enums: string-backed, int-backed and pure cases; a repeated case becomes `r:N;`. */
class ChangeShipment implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public function __construct(
        public ShipmentState $state,
        public Urgency $urgency,
        public Medium $medium,
        public array $trail,
    ) {
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
