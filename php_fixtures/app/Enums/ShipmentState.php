<?php

declare(strict_types=1);

namespace Fixtures\Enums;

/** A string-backed enum. */
enum ShipmentState: string
{
    case Queued = 'queued';
    case InTransit = 'in-transit';
    case Delivered = 'delivered';
}
