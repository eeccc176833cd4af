<?php

use Illuminate\Database\Migrations\Migration;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Support\Facades\DB;
use Illuminate\Support\Facades\Schema;

// Contract: drop the old column the previous code still reads. Rolling back restores it
// from the expand column, so no data is lost.
return new class extends Migration
{
    public function up(): void
    {
        Schema::table('courses', function (Blueprint $table) {
            $table->dropColumn('title');
        });
    }

    public function down(): void
    {
        Schema::table('courses', function (Blueprint $table) {
            $table->string('title')->default('');
        });
        DB::table('courses')->update(['title' => DB::raw('display_title')]);
    }
};
