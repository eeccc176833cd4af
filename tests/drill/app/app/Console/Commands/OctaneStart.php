<?php

namespace App\Console\Commands;

use App\Support\Octane;
use Illuminate\Console\Command;

/** Stand-in for octane:start (non-blocking here): marks this host's Octane server as running. */
class OctaneStart extends Command
{
    protected $signature = 'octane:start';

    protected $description = 'Start the Octane server (drill stand-in)';

    public function handle(): int
    {
        Octane::start();
        $this->info('Octane server started.');

        return 0;
    }
}
