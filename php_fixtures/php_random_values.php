<?php
/*
 * Prints random PHP values, serialized, for the codec's tests:
 *   php php_random_values.php <seed> <count>
 * Each value is written as "<length>\n" followed by the serialize() bytes. The values mix
 * every kind PHP serializes: nested arrays with int and string keys, binary and UTF-8
 * strings, special floats, int64 bounds, objects with all three visibilities, enums, C:
 * objects, shared instances, & references and self-references.
 */

error_reporting(E_ALL & ~E_DEPRECATED);
require __DIR__ . '/serialize_classes.php';

use Bridge\Fixtures\{Child, Legacy, Level, Mood, Node, Pair, Suit, Visible};

[$_, $seed, $count] = $argv + [null, 1, 100];
mt_srand((int) $seed);

function pick(array $items)
{
    return $items[mt_rand(0, count($items) - 1)];
}

function random_string(): string
{
    switch (mt_rand(0, 4)) {
        case 0:
            return '';
        case 1:
            $s = '';
            for ($i = mt_rand(1, 12); $i > 0; $i--) {
                $s .= chr(mt_rand(0, 255));
            }
            return $s;
        case 2:
            return pick(["h\u{e9}llo", "\u{1F389}", "a\"b;c}", "\x00*\x00x", "\u{6771}\u{4eac}", 'plain']);
        default:
            return substr(str_shuffle('abcdefghijklmnopqrstuvwxyz:;"{}'), 0, mt_rand(1, 10));
    }
}

function random_float(): float
{
    switch (mt_rand(0, 7)) {
        case 0:
            return pick([INF, -INF, NAN, -0.0, 0.0, 5e-324, 1.7976931348623157e308, 2.2250738585072014e-308]);
        case 1:
            return mt_rand() / mt_getrandmax() * 10 ** mt_rand(-30, 30);
        case 2:
            return (float) mt_rand(-1000000, 1000000);
        case 3:
            return mt_rand(-99999, 99999) / 100;
        case 4:
            return unpack('e', pack('P', mt_rand() << 32 | mt_rand()))[1] ?? 0.0;
        default:
            return (mt_rand() / mt_getrandmax() - 0.5) * 10 ** mt_rand(-6, 20);
    }
}

function random_scalar()
{
    switch (mt_rand(0, 7)) {
        case 0:
            return null;
        case 1:
            return (bool) mt_rand(0, 1);
        case 2:
            return pick([PHP_INT_MAX, PHP_INT_MIN, 0, -1, mt_rand(), -mt_rand()]);
        case 3:
            $f = random_float();
            return is_nan($f) && mt_rand(0, 1) ? NAN : $f;
        default:
            return random_string();
    }
}

function random_key()
{
    return mt_rand(0, 2) === 0 ? pick([0, 1, -5, 42, PHP_INT_MAX, mt_rand()]) : random_string();
}

function random_value(int $depth, array &$pool)
{
    $kind = $depth > 3 ? 0 : mt_rand(0, 12);
    if ($kind <= 4) {
        return random_scalar();
    }
    if ($kind === 5) {
        $list = [];
        for ($i = mt_rand(0, 4); $i > 0; $i--) {
            $list[] = random_value($depth + 1, $pool);
        }
        return $list;
    }
    if ($kind === 6) {
        $map = [];
        for ($i = mt_rand(0, 4); $i > 0; $i--) {
            $map[random_key()] = random_value($depth + 1, $pool);
        }
        return $map;
    }
    if ($kind === 7) {
        return pick([Suit::Hearts, Suit::Spades, Level::Low, Level::High, Mood::Happy, Mood::Grumpy]);
    }
    if ($kind === 8 && $pool) {
        return pick($pool);  // a shared instance
    }
    if ($kind === 9) {
        $node = new Node(random_value($depth + 1, $pool), mt_rand(0, 2) ? null : random_value($depth + 1, $pool));
        if (mt_rand(0, 5) === 0) {
            $node->next = $node;  // self-reference
        }
        $pool[] = $node;
        return $node;
    }
    if ($kind === 10) {
        $obj = pick([new Visible(), new Child(), new Legacy(random_scalar()), new Pair(random_scalar(), random_scalar()), new ArrayObject([random_scalar()])]);
        $pool[] = $obj;
        return $obj;
    }
    if ($kind === 11) {
        $std = new stdClass();
        $std->{'p' . mt_rand(0, 9)} = random_value($depth + 1, $pool);
        $std->{'q'} = random_value($depth + 1, $pool);
        $pool[] = $std;
        return $std;
    }
    // & references between entries of one array
    $shared = random_value($depth + 1, $pool);
    $arr = ['first' => &$shared, 'other' => random_scalar(), 'second' => &$shared];
    if (mt_rand(0, 1)) {
        $arr['nested'] = [&$shared];
    }
    return $arr;
}

for ($n = 0; $n < (int) $count; $n++) {
    $pool = [];
    $bytes = serialize(random_value(0, $pool));
    echo strlen($bytes), "\n", $bytes;
}
