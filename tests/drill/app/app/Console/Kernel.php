<?php

namespace App\Console;

use Illuminate\Foundation\Console\Kernel as ConsoleKernel;

class Kernel extends ConsoleKernel
{
    protected $commands = [
        Commands\HorizonPause::class,
        Commands\HorizonContinue::class,
        Commands\HorizonStatus::class,
        Commands\CommunitiesCache::class,
        Commands\OctaneStart::class,
        Commands\OctaneStop::class,
        Commands\OctaneStatus::class,
    ];
}
