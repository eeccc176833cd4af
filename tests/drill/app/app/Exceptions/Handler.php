<?php

namespace App\Exceptions;

use Illuminate\Foundation\Exceptions\Handler as ExceptionHandler;
use Illuminate\Http\Response;
use Symfony\Component\HttpKernel\Exception\HttpExceptionInterface;
use Throwable;

class Handler extends ExceptionHandler
{
    protected $dontReport = [];

    /** Plain-text error pages: the drill app has no views. */
    public function render($request, Throwable $e)
    {
        $status = $e instanceof HttpExceptionInterface ? $e->getStatusCode() : 500;
        $text = $status >= 500 ? 'Server Error' : Response::$statusTexts[$status] ?? 'Error';

        return new Response($text."\n", $status, ['Content-Type' => 'text/plain']);
    }
}
