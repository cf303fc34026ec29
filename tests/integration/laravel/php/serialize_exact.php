<?php
/*
 * Print PHP's own serialize() of the Exact.php jobs, one "<kind> <base64>" line each, as
 * Laravel's queue serializes a command (a clone of the job). Loads Debian's Laravel 8.
 */
require '/usr/share/php/Illuminate/autoload.php';
require __DIR__ . '/Exact.php';

use App\Exact\FloatJob;
use App\Exact\LinkedJob;
use App\Exact\LinkedModelsJob;
use App\Exact\Money;

$jobs = [
    'float' => new FloatJob(new Money(250)),
    'linked' => new LinkedJob(7),
    'linked_models' => new LinkedModelsJob(7),
];
foreach ($jobs as $kind => $job) {
    echo $kind, ' ', base64_encode(serialize(clone $job)), "\n";
}
