<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;
use RuntimeException;

/** Kind always_fails: records its attempt, then throws (message with quotes, a slash and unicode). */
class AlwaysFails implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public function __construct(public string $message = 'Broke "quoted" / slash – ünïcödé ✓')
    {
    }

    public function handle(): void
    {
        JobLog::record($this);

        throw new RuntimeException($this->message);
    }
}
