<?php

// Which host this copy of the app is (web-1, web-2, worker-1, console): keys per-host state in Redis.
return [
    'host' => env('ACADEMY_HOST', 'web-1'),
    'queues' => ['feed', 'notifications', 'search-index'],
];
