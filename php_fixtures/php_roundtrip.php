<?php
/*
 * A long-running peer for the codec's tests: reads requests from stdin, answers on stdout.
 *
 * Request:  "<mode> <length>\n" followed by <length> bytes.
 *   mode "rt":  unserialize() the bytes, then serialize() the result.
 * Response: "OK <length>\n" + the serialize() bytes, or "ERR <length>\n" + a message when
 *   unserialize() fails or raises any notice or warning (Laravel turns those into errors).
 */

error_reporting(E_ALL & ~E_DEPRECATED);
ini_set('display_errors', 'stderr');
ini_set('unserialize_max_depth', '4096');
require __DIR__ . '/serialize_classes.php';

$problem = null;
set_error_handler(function (int $no, string $message) use (&$problem) {
    $problem = $message;
    return true;
}, E_ALL & ~E_DEPRECATED);

$in = fopen('php://stdin', 'rb');
$out = fopen('php://stdout', 'wb');

function reply($out, string $status, string $body): void
{
    fwrite($out, $status . ' ' . strlen($body) . "\n" . $body);
    fflush($out);
}

while (($header = fgets($in)) !== false) {
    [$mode, $length] = explode(' ', trim($header));
    $length = (int) $length;
    $data = '';
    while (strlen($data) < $length) {
        $chunk = fread($in, $length - strlen($data));
        if ($chunk === false || $chunk === '') {
            exit(1);
        }
        $data .= $chunk;
    }
    $problem = null;
    try {
        $value = unserialize($data);
    } catch (Throwable $e) {
        reply($out, 'ERR', get_class($e) . ': ' . $e->getMessage());
        continue;
    }
    if ($problem !== null) {
        reply($out, 'ERR', $problem);
    } elseif ($value === false && $data !== 'b:0;') {
        reply($out, 'ERR', 'unserialize() returned false');
    } else {
        reply($out, 'OK', serialize($value));
    }
}
