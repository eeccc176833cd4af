<?php

// Debian's php-laravel-framework autoloader plus a tiny PSR-4 loader for App\ and Database\.
require_once '/usr/share/php/Illuminate/autoload.php';

spl_autoload_register(function (string $class): void {
    $roots = ['App\\' => __DIR__.'/../app/', 'Database\\' => __DIR__.'/../database/'];
    foreach ($roots as $prefix => $dir) {
        if (strncmp($class, $prefix, strlen($prefix)) === 0) {
            $file = $dir.str_replace('\\', '/', substr($class, strlen($prefix))).'.php';
            if (is_file($file)) {
                require $file;
            }
            return;
        }
    }
});
