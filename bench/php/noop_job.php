<?php
/*
 * A job that does nothing, for the worker benchmark: loaded before the harness's
 * work.php with `php -d auto_prepend_file=bench/php/noop_job.php`, so Laravel's
 * worker can run it without the harness knowing about it. Its handler writes no
 * log row, so the benchmark measures the worker, not the job.
 */

declare(strict_types=1);

namespace Bench;

// Debian's Laravel 8, or the version LARAVEL_FRAMEWORK names (as the harness loads it).
require_once __DIR__ . '/../../php_fixtures/autoload.php';

use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

class NoopJob implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public int $n = 0;

    public function handle(): void
    {
    }
}
