<?php
// SO job classes the framework's worker cannot run from a payload; `bridge stubs` refuses each.

namespace SoFixtureBad;

use Core\Queue\Job;

class NeedsArgument extends Job
{
    protected string $email;

    public function __construct(string $email)
    {
        $this->email = $email;
    }

    public function handle(): void
    {
    }
}

class HasPrivate extends Job
{
    private string $secret = 's';

    public function handle(): void
    {
    }
}

class HoldsObject extends Job
{
    public ?\DateTimeImmutable $when = null;

    public function handle(): void
    {
    }
}
