<?php
/*
 * Laravel job classes for the codec corpus and benchmark, and a queue that exposes
 * Queue::createPayload. Load Laravel's autoloader and serialize_classes.php first.
 */

namespace Bridge\Jobs;

use Bridge\Fixtures\Suit;
use Illuminate\Bus\Queueable;
use Illuminate\Container\Container;
use Illuminate\Contracts\Database\ModelIdentifier;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\CallQueuedClosure;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\Queue;
use Illuminate\Queue\SerializesModels;

/** A queue whose only job is to build payloads exactly as every Laravel driver does. */
class PayloadQueue extends Queue
{
    public function payloadFor($job): string
    {
        return $this->createPayload($job, 'default');
    }

    public function size($queue = null) { return 0; }
    public function push($job, $data = '', $queue = null) {}
    public function pushRaw($payload, $queue = null, array $options = []) {}
    public function later($delay, $job, $data = '', $queue = null) {}
    public function pop($queue = null) {}
}

function payload_queue(): PayloadQueue
{
    $queue = new PayloadQueue();
    $queue->setContainer(new Container());
    $queue->setConnectionName('database');
    return $queue;
}

class SendInvoice implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable;

    public $invoiceId;
    public $email;

    public function __construct($invoiceId, $email)
    {
        $this->invoiceId = $invoiceId;
        $this->email = $email;
    }

    public function handle() {}
}

class SyncCustomer implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public $orderId;
    protected $customer;
    private $scheduledAt;
    protected $note = 'default note';
    private $meta;

    public function __construct($orderId, $customer, $scheduledAt, $note, $meta)
    {
        $this->orderId = $orderId;
        $this->customer = $customer;
        $this->scheduledAt = $scheduledAt;
        $this->note = $note;
        $this->meta = $meta;
    }

    public function handle() {}
}

class ShipWithSuit extends SyncCustomer
{
    public Suit $suit = Suit::Hearts;
    protected ?Suit $fallback = null;
}

class ExportOrder implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public $orderId;
    public $lines = [];
    protected $customer;
    private $exportedAt;
    protected $options = [];
    private $checksum;

    public function __construct($orderId, $lines, $customer, $exportedAt, $options, $checksum)
    {
        [$this->orderId, $this->lines, $this->customer] = [$orderId, $lines, $customer];
        [$this->exportedAt, $this->options, $this->checksum] = [$exportedAt, $options, $checksum];
    }

    public function handle() {}
}

function customer(int $id): ModelIdentifier
{
    return new ModelIdentifier('App\Models\Customer', $id, ['orders', 'orders.lines'], 'mysql');
}

function plain_job(): SendInvoice
{
    return new SendInvoice(1042, "kund\u{e9}@example.com");
}

function model_job(): SyncCustomer
{
    $job = new SyncCustomer(
        77,
        customer(5),
        new \DateTimeImmutable('2026-11-27 10:11:12.250000', new \DateTimeZone('Europe/Berlin')),
        "Gr\u{fc}\u{df}e \u{2014} \"quoted\"",
        ['retries' => 3, 'ratio' => 0.25, 'flags' => ['a', 'b']],
    );
    return $job->onQueue('python')->chain([plain_job()]);
}

function enum_job(): ShipWithSuit
{
    $job = new ShipWithSuit(78, customer(6), new \DateTimeImmutable('2026-11-27 00:00:00', new \DateTimeZone('UTC')), 'n', null);
    $job->suit = Suit::Spades;
    return $job->chain([plain_job()]);
}

function closure_job(): CallQueuedClosure
{
    $greeting = "hej d\u{e5}";
    return CallQueuedClosure::create(function () use ($greeting) {
        return $greeting;
    });
}

/** The ~50 KB benchmark command: 183 line items, a model, a date, two chained jobs. */
function bench_job(): ExportOrder
{
    mt_srand(20261127);
    $words = ["K\u{e4}se", 'Widget', "Caf\u{e9} cr\u{e8}me", "\u{1F680} rocket", 'Cable', "\u{6771}\u{4eac} tea", "\u{0421}\u{0442}\u{043e}\u{043b}", 'Bolt', "na\u{ef}ve", 'Lamp'];
    $tags = ['red', 'sale', 'new', 'eco', "f\u{fc}r-kinder", 'bulk', 'fragile'];
    $lines = [];
    for ($i = 0; $i < 183; $i++) {
        $lines[] = [
            'sku' => sprintf('SKU-%05d', mt_rand(0, 99999)),
            'name' => $words[mt_rand(0, 9)] . ' ' . $words[mt_rand(0, 9)] . " #$i",
            'qty' => mt_rand(1, 50),
            'price' => mt_rand(100, 99999) / 100,
            'tags' => array_slice($tags, mt_rand(0, 3), mt_rand(1, 3)),
            'attributes' => [
                'color' => ['red', 'green', "bl\u{e5}"][mt_rand(0, 2)],
                'dims' => [mt_rand(1, 999) / 10, mt_rand(1, 999) / 10],
            ],
            'note' => mt_rand(0, 3) === 0 ? null : "Lieferung \u{2192} T\u{fc}r",
        ];
    }
    $job = new ExportOrder(
        982451653,
        $lines,
        customer(31337),
        new \DateTimeImmutable('2026-11-27 21:00:00.123456', new \DateTimeZone('Europe/Paris')),
        ['format' => 'csv', 'delimiter' => ';', 'locale' => 'de_DE', 'currency' => 'EUR', 'rounding' => 0.005],
        'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    );
    return $job->onQueue('exports')->chain([plain_job(), model_job()]);
}
