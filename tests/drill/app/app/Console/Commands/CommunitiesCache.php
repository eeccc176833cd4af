<?php

namespace App\Console\Commands;

use Illuminate\Console\Command;
use Illuminate\Support\Facades\Cache;
use Illuminate\Support\Facades\DB;

/** Academy's cache warmer: one cache entry per community (course). */
class CommunitiesCache extends Command
{
    protected $signature = 'communities:cache {--all : Warm every community}';

    protected $description = 'Warm the communities cache';

    public function handle(): int
    {
        if (! $this->option('all')) {
            $this->error('Nothing to warm: pass --all.');

            return 1;
        }
        $n = 0;
        foreach (DB::table('courses')->select('id', 'slug')->get() as $course) {
            Cache::forever('communities:'.$course->slug, ['id' => $course->id, 'warmed_at' => time()]);
            $n++;
        }
        $this->info("Cached {$n} communities.");

        return 0;
    }
}
