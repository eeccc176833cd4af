<?php

namespace App\Console\Commands;

use App\Support\Horizon;
use Illuminate\Console\Command;

/** Stand-in for laravel/horizon's horizon:continue. */
class HorizonContinue extends Command
{
    protected $signature = 'horizon:continue';

    protected $description = 'Instruct the master supervisor to continue processing jobs (this host)';

    public function handle(): int
    {
        Horizon::resume();
        $this->info('Sending CONT Signal To Process: horizon@'.Horizon::host());

        return 0;
    }
}
