<?php
/*
 * Writes one fixture_job_log row per handled job: what the handler saw, in the
 * value description, so tests can compare it with what was dispatched and with
 * what a Python handler saw for the same payload.
 */

declare(strict_types=1);

namespace Fixtures\Harness;

use Illuminate\Container\Container;
use Illuminate\Contracts\Queue\Job;

final class JobLog
{
    /** Records a job object's own declared properties as its handler sees them. */
    public static function record(object $job): void
    {
        $queueJob = property_exists($job, 'job') ? $job->job : null;
        self::insert(
            get_class($job),
            $queueJob instanceof Job ? $queueJob : null,
            Describer::job($job)['properties'],
        );
    }

    /** Records what a `Class@method` string job's handler received. */
    public static function recordStringJob(string $handler, Job $job, mixed $data): void
    {
        self::insert($handler, $job, (object) ['data' => (new Describer())->describe($data, '/data')]);
    }

    private static function insert(string $class, ?Job $job, object $values): void
    {
        Container::getInstance()['db']->connection()->table(Schema::JOB_LOG)->insert([
            'uuid' => $job?->uuid(),
            'job_class' => $class,
            'worker' => 'php',
            'pid' => getmypid(),
            'attempts' => $job?->attempts() ?? 0,
            'values' => json_encode($values, Describer::JSON_FLAGS),
            'created_at' => time(),
        ]);
    }
}
