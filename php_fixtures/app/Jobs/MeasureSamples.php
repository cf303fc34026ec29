<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;

/** Kind floats: doubles PHP writes in every notation, including INF, -INF, NAN and -0.0. */
class MeasureSamples implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable;

    public function __construct(
        public float $tenth,
        public float $whole,
        public float $huge,
        public float $negativeZero,
        public float $infinity,
        public float $negativeInfinity,
        public float $notANumber,
        public float $small,
        public array $series,
    ) {
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
