<?php
/*
 * The codec benchmark's PHP side.
 *   php serialize_bench.php emit           prints the ~50 KB benchmark job, serialized
 *   php serialize_bench.php time <seconds> reads serialized bytes on stdin and prints
 *                                          "<round trips/s> <decodes/s>" of PHP's own
 *                                          unserialize()+serialize() and unserialize()
 * Objects are decoded with allowed_classes => false, so no class's __unserialize (which
 * would query a database for Laravel models) is timed: the same work the Python codecs do.
 */

error_reporting(E_ALL & ~E_DEPRECATED);
require '/usr/share/php/Illuminate/autoload.php';
require __DIR__ . '/serialize_classes.php';
require __DIR__ . '/serialize_jobs.php';

$mode = $argv[1] ?? 'emit';
if ($mode === 'emit') {
    echo serialize(Bridge\Jobs\bench_job());
    exit(0);
}

$data = stream_get_contents(STDIN);
$seconds = (float) ($argv[2] ?? 1.0);
$options = ['allowed_classes' => false];

$measure = function (callable $op) use ($seconds): float {
    $n = 0;
    $start = hrtime(true);
    do {
        for ($i = 0; $i < 50; $i++) {
            $op();
        }
        $n += 50;
        $elapsed = (hrtime(true) - $start) / 1e9;
    } while ($elapsed < $seconds);
    return $n / $elapsed;
};

$roundTrip = $measure(function () use ($data, $options) {
    serialize(unserialize($data, $options));
});
$decode = $measure(function () use ($data, $options) {
    unserialize($data, $options);
});
if (serialize(unserialize($data, $options)) !== $data) {
    fwrite(STDERR, "PHP's own round trip changed the bytes\n");
    exit(1);
}
printf("%.1f %.1f\n", $roundTrip, $decode);
