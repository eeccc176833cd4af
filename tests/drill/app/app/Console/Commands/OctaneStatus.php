<?php

namespace App\Console\Commands;

use App\Support\Octane;
use Illuminate\Console\Command;

/** Stand-in for octane:status: exit 0 running, 1 not running. */
class OctaneStatus extends Command
{
    protected $signature = 'octane:status';

    protected $description = 'Get the current status of the Octane server (drill stand-in)';

    public function handle(): int
    {
        if (Octane::running()) {
            $this->info('Octane server is running.');

            return 0;
        }
        $this->info('Octane server is not running.');

        return 1;
    }
}
