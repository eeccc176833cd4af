<?php

namespace App\Support;

use Illuminate\Support\Facades\Redis;

/** Per-host Horizon state in Redis: the pause flag and the workers' heartbeat. */
class Horizon
{
    public static function host(): string
    {
        return (string) config('academy.host');
    }

    public static function pause(): void
    {
        Redis::set('horizon:paused:'.self::host(), (string) time());
    }

    public static function resume(): void
    {
        Redis::del('horizon:paused:'.self::host());
    }

    public static function paused(): bool
    {
        return (bool) Redis::exists('horizon:paused:'.self::host());
    }

    public static function heartbeat(): void
    {
        Redis::setex('horizon:heartbeat:'.self::host().':'.getmypid(), 10, (string) time());
    }

    public static function active(): bool
    {
        return count(Redis::keys('horizon:heartbeat:'.self::host().':*')) > 0;
    }
}
