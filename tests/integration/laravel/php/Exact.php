<?php

namespace App\Exact;

use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\Attributes\Backoff;
use Illuminate\Queue\Attributes\Timeout;
use Illuminate\Queue\Attributes\Tries;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

final class Money
{
    public float $rate = 1.0;
    protected string $currency = 'EUR';
    private ?Money $previous = null;

    public function __construct(public int $cents = 0)
    {
    }
}

class FloatJob implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable;

    public float $ratio = 1;
    public float $negative = -0.0;
    public array $weights = [1.0, -0.0, 2.0];
    public $untyped = 2.0;
    public Money $price;

    public function __construct(Money $price)
    {
        $this->price = $price;
    }
}

class LinkedJob implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable;

    public int $total = 0;
    public int $mirror = 0;
    public array $list = [];

    public function __construct(int $total)
    {
        $this->total = $total;
        $this->mirror = &$this->total;
        $this->list = [&$this->total, &$this->total];
    }
}

class LinkedModelsJob implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public int $total = 0;
    public int $mirror = 0;
    public array $list = [];

    public function __construct(int $total)
    {
        $this->total = $total;
        $this->mirror = &$this->total;
        $this->list = [&$this->total, &$this->total];
    }
}

#[Timeout(45)]
trait Slow
{
}

#[Tries(5)]
#[Backoff(1, 5)]
class DeadlineJob implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable, Slow;

    public function retryUntil()
    {
        return new \DateTimeImmutable('+10 minutes');
    }
}
