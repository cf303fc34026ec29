<?php

declare(strict_types=1);

namespace Fixtures\Enums;

/** An int-backed enum. */
enum Urgency: int
{
    case Low = 1;
    case Urgent = 99;
}
