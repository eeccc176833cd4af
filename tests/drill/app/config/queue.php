<?php

return [
    'default' => 'redis',
    'connections' => [
        'redis' => [
            'driver' => 'redis',
            'connection' => 'default',
            'queue' => 'feed',
            'retry_after' => 90,
            'block_for' => null,
        ],
    ],
    'failed' => ['driver' => 'null'],
];
