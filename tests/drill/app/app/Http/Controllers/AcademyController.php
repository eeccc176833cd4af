<?php

namespace App\Http\Controllers;

use App\Jobs\ProcessEvent;
use App\Support\Horizon;
use App\Support\Metrics;
use Illuminate\Http\JsonResponse;
use Illuminate\Http\Response;
use Illuminate\Support\Facades\DB;
use Illuminate\Support\Facades\Redis;

class AcademyController
{
    public function healthz(): JsonResponse
    {
        DB::select('select 1');
        Redis::ping();

        return new JsonResponse(['status' => 'ok', 'host' => Horizon::host()]);
    }

    /** Reads `courses.title`: the contract migration drops it, so this 500s until rolled back. */
    public function courses(): JsonResponse
    {
        // Unquoted on purpose: sqlite turns a quoted unknown column into a string literal.
        return new JsonResponse(DB::select('select id, slug, title from courses order by id'));
    }

    /** Records an analytics event and fans its work out to the three Horizon queues. */
    public function event(): JsonResponse
    {
        $id = DB::table('analytics_events')->insertGetId(['occurred_at' => microtime(true), 'ingested_at' => null]);
        foreach (config('academy.queues') as $queue) {
            ProcessEvent::dispatch($id, $queue)->onQueue($queue);
        }

        return new JsonResponse(['id' => $id], 202);
    }

    public function metrics(): Response
    {
        return new Response(Metrics::web(), 200, ['Content-Type' => 'text/plain; version=0.0.4']);
    }

    public function workerMetrics(): Response
    {
        return new Response(Metrics::worker(), 200, ['Content-Type' => 'text/plain; version=0.0.4']);
    }
}
