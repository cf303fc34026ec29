<?php
/*
 * Pushes the jobs Laravel itself wraps around app code (a queued event listener, a queued
 * mailable, a queued notification) through the real queue, and prints each jobs row's
 * payload as one JSON line: {"kind", "payload"}.
 *
 *   php framework_jobs.php
 */

declare(strict_types=1);

use Fixtures\Framework\InvoicePaid;
use Fixtures\Framework\OrderShipped;
use Fixtures\Framework\SendReceipt;
use Fixtures\Framework\WelcomeMail;
use Fixtures\Harness\Cli;
use Illuminate\Events\CallQueuedListener;
use Illuminate\Mail\SendQueuedMailable;
use Illuminate\Notifications\AnonymousNotifiable;
use Illuminate\Notifications\SendQueuedNotifications;

require_once __DIR__ . '/autoload.php';

Cli::main(static function (): int {
    $harness = require __DIR__ . '/bootstrap.php';
    $queue = $harness->queue()->connection('database');
    $listener = new CallQueuedListener(SendReceipt::class, 'handle', [new OrderShipped(7, 'DHL/Express')]);
    $listener->tries = 4;
    $kinds = [
        'listener' => $listener,
        'mailable' => new SendQueuedMailable(new WelcomeMail('Zoë', 42)),
        'notification' => new SendQueuedNotifications(
            [(new AnonymousNotifiable())->route('mail', 'a@example.com')],
            new InvoicePaid(1001, 99.5),
            ['database'],
        ),
    ];
    foreach ($kinds as $kind => $job) {
        $id = $queue->push($job, '', 'framework');
        $payload = $harness->connection()->table($harness->settings->queueTable())->where('id', $id)->value('payload');
        Cli::printJson(['kind' => $kind, 'payload' => $payload]);
    }

    return 0;
});
