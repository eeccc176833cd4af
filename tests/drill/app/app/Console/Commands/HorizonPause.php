<?php

namespace App\Console\Commands;

use App\Support\Horizon;
use Illuminate\Console\Command;

/** Stand-in for laravel/horizon's horizon:pause: pauses the workers of THIS host only. */
class HorizonPause extends Command
{
    protected $signature = 'horizon:pause';

    protected $description = 'Pause the master supervisor (this host)';

    public function handle(): int
    {
        Horizon::pause();
        $this->info('Sending USR2 Signal To Process: horizon@'.Horizon::host());

        return 0;
    }
}
