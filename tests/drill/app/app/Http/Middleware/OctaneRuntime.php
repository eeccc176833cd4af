<?php

namespace App\Http\Middleware;

use Closure;
use RuntimeException;

/**
 * The bad release's runtime: with OCTANE_ENABLED=true a fraction of requests hit a stale
 * worker socket and fail with 500. FPM (the flag off) serves everything normally.
 */
class OctaneRuntime
{
    public function handle($request, Closure $next)
    {
        if (config('octane.enabled') && ! str_starts_with($request->path(), 'metrics')
            && random_int(1, 100) <= config('octane.fault_percent')) {
            throw new RuntimeException('Octane worker: stale socket (broken pipe)');
        }

        return $next($request);
    }
}
