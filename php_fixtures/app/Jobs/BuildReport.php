<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Kind default_omitted: properties equal to their declared defaults (left out from Laravel 9.4 on). */
class BuildReport implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public $format = 'csv';
    public $pages = 5;
    protected $locale = 'de';
    public $title;

    public function __construct($title, $pages = 5, $format = 'csv', $locale = 'de')
    {
        $this->title = $title;
        $this->pages = $pages;
        $this->format = $format;
        $this->locale = $locale;
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
