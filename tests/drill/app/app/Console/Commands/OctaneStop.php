<?php

namespace App\Console\Commands;

use App\Support\Octane;
use Illuminate\Console\Command;

/** Stand-in for octane:stop: stopping the server is what purges Octane's in-memory cache store. */
class OctaneStop extends Command
{
    protected $signature = 'octane:stop';

    protected $description = 'Stop the Octane server (drill stand-in)';

    public function handle(): int
    {
        if (! Octane::running()) {
            $this->error('Octane server is not running.');

            return 1;
        }
        $this->info('Stopping server...');
        Octane::stop();

        return 0;
    }
}
