<?php

declare(strict_types=1);

namespace Fixtures\Data;

/** A value object with promoted typed public properties. */
class Coordinates
{
    public function __construct(public float $latitude, public float $longitude)
    {
    }
}
