<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Kind plain_public: promoted typed public properties, the `make:job` trait set. */
class WelcomeMember implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public function __construct(public int $memberId, public string $email, public string $greeting)
    {
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
