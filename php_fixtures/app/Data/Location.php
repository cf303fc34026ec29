<?php

declare(strict_types=1);

namespace Fixtures\Data;

/** A value object the object_reference kind holds more than once. */
class Location
{
    public $line;
    protected $city;
    private $postcode;

    public function __construct($line, $city, $postcode)
    {
        $this->line = $line;
        $this->city = $city;
        $this->postcode = $postcode;
    }
}
