<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Fixtures\Models\FixtureUser;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Kinds model_single and model_with_relation: a model through SerializesModels (ModelIdentifier). */
class GreetUser implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public function __construct(public FixtureUser $user, public string $template)
    {
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
