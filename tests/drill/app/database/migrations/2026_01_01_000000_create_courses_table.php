<?php

use Illuminate\Database\Migrations\Migration;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Support\Facades\DB;
use Illuminate\Support\Facades\Schema;

return new class extends Migration
{
    public function up(): void
    {
        Schema::create('courses', function (Blueprint $table) {
            $table->id();
            $table->string('slug')->unique();
            $table->string('title');
        });
        foreach (['laravel-basics', 'queues-101', 'octane-deep-dive', 'sqlite-tips', 'redis-patterns'] as $slug) {
            DB::table('courses')->insert(['slug' => $slug, 'title' => ucwords(str_replace('-', ' ', $slug))]);
        }
    }

    public function down(): void
    {
        Schema::dropIfExists('courses');
    }
};
