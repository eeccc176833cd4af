<?php

namespace App\Support;

use Illuminate\Support\Facades\Queue;
use Illuminate\Support\Facades\DB;
use Illuminate\Support\Facades\Redis;
use Throwable;

/**
 * Prometheus text exposition. Request counters live in Redis (php -S keeps no state between
 * requests); queue depths are Queue::size() (list + :delayed + :reserved, like Horizon's size).
 */
class Metrics
{
    public static function countRequest(int $status): void
    {
        try {
            Redis::hincrby('metrics:http_requests:'.Horizon::host(), (string) $status, 1);
        } catch (Throwable $e) {
            // Metrics must never break a request.
        }
    }

    public static function web(): string
    {
        $counts = Redis::hgetall('metrics:http_requests:'.Horizon::host()) ?: [];
        $counts += ['200' => 0, '500' => 0];
        ksort($counts);
        $lines = [
            '# HELP academy_http_requests_total HTTP requests served, by status.',
            '# TYPE academy_http_requests_total counter',
        ];
        foreach ($counts as $status => $n) {
            $lines[] = sprintf('academy_http_requests_total{status="%s"} %d', $status, $n);
        }

        return implode("\n", $lines)."\n";
    }

    public static function worker(): string
    {
        $lines = [
            '# HELP horizon_queue_depth Jobs waiting, delayed or reserved (Queue::size()).',
            '# TYPE horizon_queue_depth gauge',
        ];
        foreach (config('academy.queues') as $queue) {
            $lines[] = sprintf('horizon_queue_depth{queue="%s"} %d', $queue, Queue::connection('redis')->size($queue));
        }
        // The same series redis_exporter (--check-keys) publishes, so the drill profile uses the
        // production query: list length for queues:NAME, cardinality for the two sorted sets.
        $lines[] = '# HELP redis_key_size The length or size of "key"';
        $lines[] = '# TYPE redis_key_size gauge';
        $redis = Redis::connection()->client();
        $prefix = config('database.redis.options.prefix');
        foreach (config('academy.queues') as $queue) {
            $key = $prefix.'queues:'.$queue;
            $sizes = [$key => $redis->lLen($key), $key.':delayed' => $redis->zCard($key.':delayed'),
                $key.':reserved' => $redis->zCard($key.':reserved')];
            foreach ($sizes as $name => $n) {
                $lines[] = sprintf('redis_key_size{db="db0",key="%s"} %d', $name, (int) $n);
            }
        }
        $lines[] = '# HELP horizon_paused 1 when this host\'s Horizon is paused.';
        $lines[] = '# TYPE horizon_paused gauge';
        $lines[] = sprintf('horizon_paused %d', Horizon::paused() ? 1 : 0);
        $lines[] = '# HELP analytics_ingestion_lag_seconds Age of the oldest event not yet ingested.';
        $lines[] = '# TYPE analytics_ingestion_lag_seconds gauge';
        $lines[] = sprintf('analytics_ingestion_lag_seconds %.3f', self::ingestionLag());

        return implode("\n", $lines)."\n";
    }

    public static function ingestionLag(): float
    {
        $oldest = DB::table('analytics_events')->whereNull('ingested_at')->min('occurred_at');

        return $oldest === null ? 0.0 : max(0.0, microtime(true) - (float) $oldest);
    }
}
