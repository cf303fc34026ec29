<?php

declare(strict_types=1);

namespace Fixtures\Framework;

use Illuminate\Mail\Mailable;

/** A queued mailable: Laravel wraps it in SendQueuedMailable. */
class WelcomeMail extends Mailable
{
    public function __construct(public string $name, protected int $userId)
    {
        $this->subject = "Welcome, {$name}";
    }

    public function build(): self
    {
        return $this;
    }
}
