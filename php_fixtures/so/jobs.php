<?php
// Job classes of the SO framework tests: plain `Core\Queue\Job` subclasses, as an SO app
// declares them. handle() writes what it sees to the log file named by SO_FIXTURE_LOG.

namespace SoFixture;

use Core\Queue\Job;

function record(Job $job, array $props): void
{
    $line = json_encode([
        'class' => get_class($job),
        'jobId' => $job->jobId,
        'attempts' => $job->attempts(),
        'worker' => getenv('SO_WORKER_NAME') ?: 'so',
        // serialize() keeps every PHP type (float vs int, null) for the comparison.
        'props' => base64_encode(serialize($props)),
    ]);
    file_put_contents(getenv('SO_FIXTURE_LOG'), $line . "\n", FILE_APPEND | LOCK_EX);
}

class Kinds extends Job
{
    public $untyped = null;
    public int $count = 0;
    public float $ratio = 0.0;
    public string $label = '';
    public ?string $note = null;
    public bool $flag = false;
    public array $items = [];
    protected string $hidden = 'h';
    protected $looseProtected = null;

    public function handle(): void
    {
        record($this, [
            'untyped' => $this->untyped,
            'count' => $this->count,
            'ratio' => $this->ratio,
            'label' => $this->label,
            'note' => $this->note,
            'flag' => $this->flag,
            'items' => $this->items,
            'hidden' => $this->hidden,
            'looseProtected' => $this->looseProtected,
            'queue' => $this->queue,
            'tries' => $this->tries,
            'retryAfter' => $this->retryAfter,
        ]);
    }
}

class Fails extends Job
{
    public string $label = '';

    public function handle(): void
    {
        record($this, ['label' => $this->label]);
        throw new \RuntimeException('boom: ' . $this->label);
    }
}

class Counts extends Job
{
    public int $n = 0;

    public function handle(): void
    {
        record($this, ['n' => $this->n]);
    }
}

class Noop extends Job
{
    public int $n = 0;

    public function handle(): void
    {
    }
}
