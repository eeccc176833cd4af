<?php

use App\Http\Controllers\AcademyController;
use Illuminate\Support\Facades\Route;

Route::get('/healthz', [AcademyController::class, 'healthz']);
Route::get('/api/courses', [AcademyController::class, 'courses']);
Route::post('/api/events', [AcademyController::class, 'event']);
Route::get('/metrics', [AcademyController::class, 'metrics']);
Route::get('/metrics/worker', [AcademyController::class, 'workerMetrics']);
