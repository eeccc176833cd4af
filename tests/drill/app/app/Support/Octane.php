<?php

namespace App\Support;

use Illuminate\Support\Facades\Redis;

/** This host's Octane server state (its in-memory cache store included), kept in Redis. */
class Octane
{
    public static function start(): void
    {
        Redis::hset('octane:server:'.Horizon::host(), 'started_at', (string) time());
        Redis::hset('octane:server:'.Horizon::host(), 'cache_entries', '128');
    }

    public static function stop(): void
    {
        Redis::del('octane:server:'.Horizon::host());
    }

    public static function running(): bool
    {
        return (bool) Redis::exists('octane:server:'.Horizon::host());
    }
}
