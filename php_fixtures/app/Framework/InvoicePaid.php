<?php

declare(strict_types=1);

namespace Fixtures\Framework;

use Illuminate\Notifications\Notification;

/** A queued notification: Laravel wraps it in SendQueuedNotifications. */
class InvoicePaid extends Notification
{
    public function __construct(public int $invoiceId, private float $amount)
    {
    }

    public function via($notifiable): array
    {
        return ['database'];
    }
}
