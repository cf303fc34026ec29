<?php
/*
 * Writes the codec's golden corpus: one JSON line per case with the exact bytes PHP's
 * serialize() produced (base64, since they hold NULs and binary).
 *
 *   php php_fixtures/serialize_corpus.php > tests/vectors/php_corpus.jsonl
 *
 * Everything is deterministic (fixed dates, fixed seeds, a fixed UUID factory), so running
 * it again must reproduce the committed file byte for byte.
 */

error_reporting(E_ALL & ~E_DEPRECATED);
require '/usr/share/php/Illuminate/autoload.php';
require __DIR__ . '/serialize_classes.php';
require __DIR__ . '/serialize_jobs.php';

use Bridge\Fixtures\{Base, Child, Legacy, Level, Mood, Node, Pair, Suit, Visible};
use Bridge\Jobs;

$cases = [];
function add(string $name, string $description, $value, ?string $bytes = null): void
{
    global $cases;
    $cases[] = [$name, $description, $bytes ?? serialize($value)];
}

// -- scalars and arrays ----------------------------------------------------------------
add('scalars_in_array', 'null, bools, ints, strings, empty string', [null, true, false, 0, 1, -1, 42, '', 'abc']);
add('nested_mixed_keys', 'nested arrays with mixed int/str keys and negative keys',
    ['a' => 1, 5 => 'five', -3 => ['x' => [1, 2], -1 => 'neg'], 'n' => ['deep' => ['deeper' => []]]]);
add('list', 'sequential list', [10, 20, 30, 'forty', 5.5, null]);
add('sparse_keys', 'sparse and reordered int keys', [2 => 'a', 0 => 'b', 7 => 'c']);
add('numeric_string_keys', 'string keys PHP turns into ints, and ones it keeps as strings', [
    '123' => 'int', '0123' => 'leading zero', '1.5' => 'float-like', '-0' => 'minus zero',
    ' 1' => 'space', '9223372036854775808' => 'overflow', '-5' => 'negative',
    '9223372036854775807' => 'max', '-9223372036854775808' => 'min', '' => 'empty',
]);
add('unicode_string', 'multi-byte, emoji, quotes and ;:{} inside a string', "h\u{e9}llo w\u{f6}rld \u{2713} \u{1F389} \"quoted\" ;:{}");
add('binary_string', 'NUL, 0xFF and 0x80 bytes', "\x00\xff\x80abc\x00\"};");
add('empty_array', 'empty array', []);
add('empty_string', 'empty string', '');
add('long_string', 'a 70000-byte string', str_repeat("ab\u{e9}", 14000) . str_repeat('x', 28000));

// -- floats ----------------------------------------------------------------------------
$floats = [
    'float_0_1' => 0.1, 'float_1' => 1.0, 'float_1e25' => 1e25, 'float_neg_zero' => -0.0,
    'float_inf' => INF, 'float_neg_inf' => -INF, 'float_nan' => NAN, 'float_1_5e_minus_7' => 1.5e-7,
    'float_0_1_plus_0_2' => 0.1 + 0.2, 'float_123456789012345678' => 123456789012345678.0,
];
foreach ($floats as $name => $f) {
    add($name, 'the float ' . var_export($f, true), $f);
}
add('float_edges', 'subnormals, extremes and the fixed/scientific boundaries', [
    5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308,
    1e15, 1e16, 9.999999999999998e16, 1e17, 0.0001, 0.00001, -2.5e-5, 123.456, -0.5, 3.0,
    1e100, 1.0E-100, 2.0 ** 53, 2.0 ** 53 + 2, 100.0, 1e21, 0.1 * 3,
]);
add('int_max', 'PHP_INT_MAX', PHP_INT_MAX);
add('int_min', 'PHP_INT_MIN', PHP_INT_MIN);

// -- objects ---------------------------------------------------------------------------
add('object_visibility', 'public, protected and private properties', new Visible());
add('child_parent_private', 'child and parent both declare a private $secret', new Child());
add('nested_objects_3', 'three levels of nested objects', new Node('one', new Node('two', new Node('three'))));
$std = new stdClass();
$std->a = 1;
$std->{'0'} = 'z';
add('stdclass_numeric_property', 'stdClass with a numeric property name', $std);
$shared = new Node('shared');
add('same_object_twice', 'one instance in two places (r:)', [$shared, $shared, 'x' => $shared]);
$value = 5;
add('php_reference', 'a PHP & reference (R:)', ['a' => &$value, 'b' => &$value, 'c' => 1]);
$self = new stdClass();
$self->name = 'me';
$self->me = $self;
add('self_reference', 'an object whose property is itself (r:1)', $self);
add('backed_enum', 'a backed enum case', Suit::Hearts);
add('pure_enums_in_array', 'pure enum cases in an array, one repeated', [Mood::Happy, Mood::Grumpy, Mood::Happy, Level::High]);
add('serializable_c', 'a class implementing Serializable (C:)', new Legacy(['x' => 1, 'y' => [true, null]]));
add('magic_serialize_int_keys', '__serialize returning int keys', new Pair('L', 2.5));
add('array_object', 'ArrayObject, whose properties are int keys', new ArrayObject(['a' => 1, 'b' => [1, 2]]));
$date = new DateTimeImmutable('2024-01-02 03:04:05.123456', new DateTimeZone('UTC'));
add('datetime_immutable', 'DateTimeImmutable in UTC', $date);
add('carbon_immutable', 'Carbon\CarbonImmutable', new Carbon\CarbonImmutable('2024-05-06 07:08:09.5', 'Europe/Paris'));
add('datetime_zone_types', 'DateTime with timezone types 1, 2 and 3', [
    new DateTime('2024-01-02 03:04:05.5', new DateTimeZone('+02:00')),
    new DateTime('2024-03-04 05:06:07', new DateTimeZone('EST')),
    new DateTime('2024-03-04 05:06:07', new DateTimeZone('America/New_York')),
]);
add('date_interval', 'DateInterval', new DateInterval('P1Y2M3DT4H5M6S'));
add('date_interval_diff', 'DateInterval from diff() (days set)', (new DateTimeImmutable('2024-01-01'))->diff(new DateTimeImmutable('2024-03-15 12:00')));
add('date_timezone', 'DateTimeZone', new DateTimeZone('Asia/Tokyo'));
$storage = new SplObjectStorage();
$storage[new Node('k1')] = 'data1';
$storage[$shared] = ['list', 1];
add('spl_object_storage', 'SplObjectStorage with data', [$storage, $shared]);
$list = [1, 2];
$obj = new Node('o');
add('nested_references', 'references inside nested arrays, to arrays and to objects', [
    'a' => &$list, 'b' => ['inner' => &$list], 'o' => &$obj, 'p' => $obj, 'q' => [&$obj],
]);
$loop = [];
$loop[0] = &$loop;
add('self_referencing_array', 'an array holding a reference to itself', $loop);
$n = 7;
add('slot_numbering', 'R: takes no slot, r: and enum cases do', [
    &$n, $shared, &$n, $shared, Mood::Happy, [Mood::Happy, Mood::Grumpy, &$n], Mood::Grumpy,
]);
add('repeated_enum_deep', 'the same enum cases repeated deep inside nested arrays and objects', [
    'top' => Suit::Spades,
    'rows' => [['s' => Suit::Spades, 'l' => [Level::Low, [Level::Low, Suit::Hearts]]], new Node(Suit::Hearts, new Node(Level::Low))],
]);
add('nested_custom', 'C: objects nested in arrays and inside another C:', [
    new Legacy('plain'), ['k' => new Legacy(new Legacy([1, 2]))], new Legacy(null),
]);
$deep = 'bottom';
for ($i = 0; $i < 100; $i++) {
    $deep = [$deep];
}
add('deep_nesting_100', '100 nested arrays', $deep);
add('empty_object', 'an object without properties', new stdClass());

// -- Laravel ---------------------------------------------------------------------------
$queue = Jobs\payload_queue();
$command = fn ($job) => json_decode($queue->payloadFor($job), true)['data']['command'];
add('laravel_plain_job', 'a plain job command from Queue::createPayload', null, $command(Jobs\plain_job()));
$chained = Jobs\model_job();
add('laravel_model_job', 'ModelIdentifier, DateTimeImmutable, protected/private props and a chained job (createPayload)', null, $command($chained));
add('laravel_closure_job', 'a queued closure (CallQueuedClosure + SerializableClosure)', null, $command(Jobs\closure_job()));
add('laravel_enum_job', 'the model job plus a backed-enum property, serialize()d directly', Jobs\enum_job());
add('laravel_enum_job_payload', 'the same job as emitted by Queue::createPayload', null, $command(Jobs\enum_job()));
add('laravel_bench_job', 'the ~50 KB benchmark job command (183 line items)', Jobs\bench_job());

foreach ($cases as [$name, $description, $bytes]) {
    echo json_encode(['name' => $name, 'description' => $description, 'php' => base64_encode($bytes)],
        JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
}
