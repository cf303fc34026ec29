<?php

declare(strict_types=1);

namespace Fixtures\Jobs13;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\Attributes\Backoff;
use Illuminate\Queue\Attributes\MaxExceptions;
use Illuminate\Queue\Attributes\Timeout;
use Illuminate\Queue\Attributes\Tries;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;
use RuntimeException;

/**
 * Kind attribute_options: its job options come only from Laravel 13's queue attributes
 * (13 writes them into the payload; 12 and 8 ignore them, so the worker's --tries rules).
 * Records its attempt, then throws.
 */
#[Tries(3)]
#[Backoff(0)]
#[Timeout(45)]
#[MaxExceptions(5)]
class RetriedByAttribute implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public function __construct(public string $label = 'configured by attributes')
    {
    }

    public function handle(): void
    {
        JobLog::record($this);

        throw new RuntimeException("{$this->label}: attempt {$this->attempts()} failed");
    }
}
