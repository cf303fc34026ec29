<?php

declare(strict_types=1);

namespace Fixtures\Data;

/** A value object with a property of every visibility and a nested object. */
class Parcel
{
    public $label;
    protected $weightGrams;
    private $origin;
    public $stickers = [];

    public function __construct($label, $weightGrams, ?Coordinates $origin = null, array $stickers = [])
    {
        $this->label = $label;
        $this->weightGrams = $weightGrams;
        $this->origin = $origin;
        $this->stickers = $stickers;
    }
}
