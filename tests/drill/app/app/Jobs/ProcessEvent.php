<?php

namespace App\Jobs;

use Illuminate\Bus\Queueable;
use Illuminate\Contracts\Queue\ShouldQueue;
use Illuminate\Foundation\Bus\Dispatchable;
use Illuminate\Queue\InteractsWithQueue;
use Illuminate\Support\Facades\DB;

/** One analytics event's work on one queue; the search-index job marks the event ingested. */
class ProcessEvent implements ShouldQueue
{
    use Dispatchable, InteractsWithQueue, Queueable;

    public function __construct(public int $eventId, public string $stage)
    {
    }

    public function handle(): void
    {
        if ($this->stage === 'search-index') {
            DB::table('analytics_events')->where('id', $this->eventId)
                ->update(['ingested_at' => microtime(true)]);
        }
    }
}
