<?php

declare(strict_types=1);

namespace Fixtures\Jobs;

use Fixtures\Harness\JobLog;
use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldBeEncrypted;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Queue\SerializesModels;

/** Kind encrypted: ShouldBeEncrypted, so data.command is encrypted with APP_KEY. */
class ChargeWallet implements ShouldQueue, ShouldBeEncrypted
{
    use Dispatchable, InteractsWithQueue, Queueable, SerializesModels;

    public $walletId;
    public $amountCents;
    protected $currency;

    public function __construct($walletId, $amountCents, $currency)
    {
        $this->walletId = $walletId;
        $this->amountCents = $amountCents;
        $this->currency = $currency;
    }

    public function handle(): void
    {
        JobLog::record($this);
    }
}
