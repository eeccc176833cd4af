<?php

namespace App\Console\Commands;

use App\Support\Horizon;
use Illuminate\Console\Command;

/** Stand-in for horizon:status. Exit 0 running, 1 paused, 2 inactive (no worker heartbeat). */
class HorizonStatus extends Command
{
    protected $signature = 'horizon:status';

    protected $description = 'Get the current status of Horizon (this host)';

    public function handle(): int
    {
        if (! Horizon::active()) {
            $this->error('Horizon is inactive.');

            return 2;
        }
        if (Horizon::paused()) {
            $this->warn('Horizon is paused.');

            return 1;
        }
        $this->info('Horizon is running.');

        return 0;
    }
}
