<?php

declare(strict_types=1);

namespace Fixtures\Enums;

/** A pure enum (no backing value). */
enum Medium
{
    case Mail;
    case Phone;
    case Pigeon;
}
