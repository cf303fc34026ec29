<?php

declare(strict_types=1);

namespace Fixtures\Framework;

/** The event a queued listener receives. */
class OrderShipped
{
    public function __construct(public int $orderId, public string $carrier)
    {
    }
}
