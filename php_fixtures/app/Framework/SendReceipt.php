<?php

declare(strict_types=1);

namespace Fixtures\Framework;

use Illuminate\Contracts\Queue\ShouldQueue;

/** A queued event listener: Laravel wraps the call in CallQueuedListener. */
class SendReceipt implements ShouldQueue
{
    public $tries = 4;

    public function handle(OrderShipped $event): void
    {
    }
}
