<?php
/*
 * Runs Laravel's own Illuminate\Queue\Worker without the queue:work console
 * command, for the Laravel versions whose command cannot load here (12 and 13
 * need symfony/console 7.2; Debian has 5.4). What the command adds around the
 * worker is done the same way: the option values it passes (WorkerOptions), the
 * cache it hands the worker (maxExceptions counters, queue pauses), the
 * Processing / Processed / Failed lines, and the JobFailed listener that writes
 * failed_jobs through the failed-job provider.
 *
 * Without pcntl (the WebAssembly PHP has none) the worker itself skips signal
 * handling and job timeouts; everything else is Laravel's code path.
 */

declare(strict_types=1);

namespace Fixtures\Harness;

use Illuminate\Contracts\Cache\Repository as CacheContract;
use Illuminate\Contracts\Queue\Job;
use Illuminate\Queue\Events\JobFailed;
use Illuminate\Queue\Events\JobProcessed;
use Illuminate\Queue\Events\JobProcessing;
use Illuminate\Queue\Events\JobReleasedAfterException;
use Illuminate\Queue\WorkerOptions;
use Throwable;

final class DirectWorker
{
    /** @var list<string> the lines of the run in progress */
    private array $lines = [];

    private bool $listening = false;

    public function __construct(private readonly Harness $harness)
    {
    }

    /**
     * Works the queue as `queue:work` with these options would.
     *
     * @param array<string, mixed> $options queue:work's option names without dashes
     *        (queue, once, stop-when-empty, tries, backoff, sleep, rest, max-jobs,
     *        max-time, memory, name, force), plus the connection under `connection`
     * @return array{status: int, lines: list<string>}
     */
    public function run(array $options): array
    {
        $this->listen();
        $this->lines = [];
        $app = $this->harness->app;
        $connection = (string) ($options['connection'] ?? $this->harness->settings->queueConnectionName());
        $queue = (string) ($options['queue'] ?? $app['config']["queue.connections.{$connection}.queue"] ?? 'default');
        $worker = Harness::newWorker($app)
            ->setName((string) ($options['name'] ?? 'default'))
            ->setCache($app[CacheContract::class]);
        $workerOptions = new WorkerOptions(
            (string) ($options['name'] ?? 'default'),
            $options['backoff'] ?? 0,
            (int) ($options['memory'] ?? 128),
            // Enforced only with pcntl (SIGALRM); this PHP may have none.
            (int) ($options['timeout'] ?? 60),
            (float) ($options['sleep'] ?? 3),
            (int) ($options['tries'] ?? 1),
            (bool) ($options['force'] ?? false),
            (bool) ($options['stop-when-empty'] ?? false),
            (int) ($options['max-jobs'] ?? 0),
            (int) ($options['max-time'] ?? 0),
            (float) ($options['rest'] ?? 0),
        );
        $status = ($options['once'] ?? false)
            ? $worker->runNextJob($connection, $queue, $workerOptions)
            : $worker->daemon($connection, $queue, $workerOptions);

        return ['status' => is_int($status) ? $status : 0, 'lines' => $this->lines];
    }

    /** The command's listeners, registered once per process (as one command run would). */
    private function listen(): void
    {
        if ($this->listening) {
            return;
        }
        $this->listening = true;
        $events = $this->harness->app['events'];
        $events->listen(JobProcessing::class, fn (JobProcessing $e) => $this->line($e->job, 'Processing'));
        $events->listen(JobProcessed::class, fn (JobProcessed $e) => $this->line($e->job, 'Processed'));
        $events->listen(JobReleasedAfterException::class, fn (JobReleasedAfterException $e) => $this->line($e->job, 'Released'));
        $events->listen(JobFailed::class, function (JobFailed $e): void {
            $this->line($e->job, 'Failed', $e->exception);
            $this->harness->app['queue.failer']->log(
                $e->connectionName,
                $e->job->getQueue(),
                $e->job->getRawBody(),
                $e->exception,
            );
        });
    }

    private function line(Job $job, string $status, ?Throwable $exception = null): void
    {
        $line = sprintf('[%s][%s] %s: %s', date('Y-m-d H:i:s'), $job->getJobId(), $status, $job->resolveName());
        if ($exception !== null) {
            $line .= sprintf(' (%s: %s)', get_class($exception), $exception->getMessage());
        }
        $this->lines[] = $line;
    }
}
