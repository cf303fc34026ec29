<?php

declare(strict_types=1);

namespace Fixtures\Jobs13;

use Fixtures\Harness\JobLog;
use Fixtures\Models\FixtureUser;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\Attributes\DeleteWhenMissingModels;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/**
 * Kind missing_model_attribute: a queued model and #[DeleteWhenMissingModels]. When the
 * model is gone by the time a worker runs the job, Laravel deletes the job unrun (13 reads
 * the payload's deleteWhenMissingModels, which it writes from the attribute; 12 reads the
 * attribute on the class).
 */
#[DeleteWhenMissingModels]
class ForgetsMissingUser implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public function __construct(public FixtureUser $user)
    {
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
