<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Contracts\Queue\Job;

/**
 * Kind string_job: the handler of Queue::push('Fixtures\Jobs\ArchiveHandler@archive', $data).
 * The worker deletes nothing for string jobs, so the handler deletes its own job.
 */
class ArchiveHandler
{
    public function archive(Job $job, $data): void
    {
        JobLog::recordStringJob(static::class . '@archive', $job, $data);
        $job->delete();
    }
}
