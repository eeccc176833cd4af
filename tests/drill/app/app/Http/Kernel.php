<?php

namespace App\Http;

use App\Support\Metrics;
use Illuminate\Foundation\Http\Kernel as HttpKernel;

class Kernel extends HttpKernel
{
    protected $middleware = [
        \App\Http\Middleware\OctaneRuntime::class,
    ];

    protected $middlewareGroups = [];

    protected $routeMiddleware = [];

    /** Counts every request by status (except Prometheus' own scrapes) once it has a response. */
    public function handle($request)
    {
        $response = parent::handle($request);
        if (! str_starts_with($request->path(), 'metrics')) {
            Metrics::countRequest($response->getStatusCode());
        }

        return $response;
    }
}
