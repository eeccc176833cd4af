<?php

// The release's runtime switch (seed 3.8 §2). When on, the drill's "Octane" runtime fails a
// fraction of requests with 500 (stale sockets), which is the bad release being rolled back.
return [
    'enabled' => (bool) env('OCTANE_ENABLED', false),
    'fault_percent' => (int) env('OCTANE_FAULT_PERCENT', 30),
];
