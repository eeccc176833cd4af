<?php

namespace App\Providers;

use App\Support\Horizon;
use Illuminate\Queue\Events\Looping;
use Illuminate\Support\Facades\Event;
use Illuminate\Support\ServiceProvider;

class AppServiceProvider extends ServiceProvider
{
    public function boot(): void
    {
        // Horizon stand-in: each worker loop beats a heartbeat for its host and skips work
        // while the host's pause flag is set (real Horizon sends SIGUSR2 to its workers).
        Event::listen(Looping::class, function (): bool {
            Horizon::heartbeat();

            return ! Horizon::paused();
        });
    }
}
