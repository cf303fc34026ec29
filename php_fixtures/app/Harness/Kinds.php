<?php
/*
 * The catalogue of fixture kinds: for each, the job(s) it builds and how it is
 * sent through Laravel (the dispatch() helper, Bus::chain, Bus::batch or
 * Queue::push for a string job). Value kinds show one wire-format feature each;
 * behaviour kinds drive the worker (failures, retries, timeouts, releases).
 */

declare(strict_types=1);

namespace Fixtures\Harness;

use Carbon\Carbon;
use Carbon\CarbonImmutable;
use DateTime;
use DateTimeImmutable;
use DateTimeZone;
use Fixtures\Data\Coordinates;
use Fixtures\Data\Location;
use Fixtures\Data\Parcel;
use Fixtures\Enums\Medium;
use Fixtures\Enums\ShipmentState;
use Fixtures\Enums\Urgency;
use Fixtures\Jobs;
use Fixtures\Models\FixturePost;
use Fixtures\Models\FixtureUser;
use Illuminate\Support\Carbon as SupportCarbon;
use RuntimeException;
use stdClass;

final class Kinds
{
    public const STRING_JOB = 'Fixtures\\Jobs\\ArchiveHandler@archive';

    /** Kinds about Laravel 13 features (app/Jobs13): not part of the Laravel 8 vectors. */
    public const LARAVEL13_KINDS = ['attribute_options', 'missing_model_attribute'];

    /**
     * How each kind is sent: `dispatch` (one job through the dispatch() helper),
     * `chain`, `batch` or `string`.
     *
     * @return array<string, string>
     */
    public static function modes(): array
    {
        return [
            'plain_public' => 'dispatch',
            'protected_private' => 'dispatch',
            'native_visibility' => 'dispatch',
            'nested_arrays' => 'dispatch',
            'floats' => 'dispatch',
            'null_bool' => 'dispatch',
            'enums' => 'dispatch',
            'dates' => 'dispatch',
            'nested_object' => 'dispatch',
            'object_reference' => 'dispatch',
            'job_options' => 'dispatch',
            'delayed' => 'dispatch',
            'delayed_datetime' => 'dispatch',
            'encrypted' => 'dispatch',
            'chain' => 'chain',
            'batch' => 'batch',
            'model_single' => 'dispatch',
            'model_with_relation' => 'dispatch',
            'model_collection' => 'dispatch',
            'string_job' => 'string',
            'default_omitted' => 'dispatch',
            'always_fails' => 'dispatch',
            'fails_then_succeeds' => 'dispatch',
            'sleeps_past_timeout' => 'dispatch',
            'releases' => 'dispatch',
            'fails_manually' => 'dispatch',
            'records' => 'dispatch',
            'attribute_options' => 'dispatch',
            'missing_model_attribute' => 'dispatch',
        ];
    }

    public static function mode(string $kind): string
    {
        return self::modes()[$kind] ?? throw new RuntimeException(
            "unknown kind [{$kind}]; known: " . implode(', ', array_keys(self::modes()))
        );
    }

    /** The delay a kind is always dispatched with, if any. */
    public static function ownDelay(string $kind): int|DateTimeImmutable|SupportCarbon|null
    {
        return match ($kind) {
            'delayed' => 300,
            'delayed_datetime' => SupportCarbon::now()->addSeconds(120),
            default => null,
        };
    }

    /**
     * The jobs of one dispatch of a kind (one, or the links of a chain / the jobs of a batch).
     *
     * @param array<string, mixed> $overrides named constructor arguments replacing the defaults
     * @return list<object>
     */
    public static function jobs(string $kind, int $index, array $overrides = []): array
    {
        $make = static fn (string $class, array $args): object => new $class(...array_merge($args, $overrides));

        return match ($kind) {
            'plain_public' => [$make(Jobs\WelcomeMember::class, [
                'memberId' => 42, 'email' => 'ada@example.org', 'greeting' => 'Grüezi, Ada!',
            ])],
            'protected_private' => [$make(Jobs\AuditTrail::class, [
                'entryId' => 9001, 'actor' => 'admin@example.org', 'reason' => 'password reset «manual»',
            ])],
            'native_visibility' => [$make(Jobs\ArchiveTicket::class, [
                'ticket' => 'T-1000', 'owner' => 'ops', 'note' => 'kept "as is"',
            ])],
            'nested_arrays' => [$make(Jobs\SyncCatalog::class, ['catalog' => self::catalog(), 'labels' => ['ünïcode', '東京', '']])],
            'floats' => [$make(Jobs\MeasureSamples::class, [
                'tenth' => 0.1, 'whole' => 1.0, 'huge' => 1e25, 'negativeZero' => -0.0,
                'infinity' => INF, 'negativeInfinity' => -INF, 'notANumber' => NAN, 'small' => 1.5e-7,
                'series' => [0.1 + 0.2, 2.5, -3.75e-10, 1e16, 1e17, 123456789.125, 5e-324, 1.7976931348623157e308],
            ])],
            'null_bool' => [$make(Jobs\SetFlags::class, ['enabled' => true, 'archived' => false, 'note' => null, 'limit' => null, 'strict' => true])],
            'enums' => [$make(Jobs\ChangeShipment::class, [
                'state' => ShipmentState::InTransit, 'urgency' => Urgency::Urgent, 'medium' => Medium::Pigeon,
                'trail' => [ShipmentState::Queued, ShipmentState::InTransit, Medium::Mail, Urgency::Urgent],
            ])],
            'dates' => [$make(Jobs\PlanMeeting::class, self::dates())],
            'nested_object' => [$make(Jobs\PackOrder::class, self::parcel())],
            'object_reference' => [self::reference($make)],
            'job_options' => [$make(Jobs\ImportLedger::class, ['file' => 'imports/2025/ledger.csv'])],
            'delayed' => [$make(Jobs\PingLater::class, ['pingId' => 7, 'message' => 'in five minutes'])],
            'delayed_datetime' => [$make(Jobs\PingLater::class, ['pingId' => 8, 'message' => 'at a date'])],
            'encrypted' => [$make(Jobs\ChargeWallet::class, ['walletId' => 'w_77', 'amountCents' => 2599, 'currency' => 'CHF'])],
            'chain' => [
                $make(Jobs\ResizePhoto::class, ['path' => 'uploads/dog.png', 'width' => 320]),
                new Jobs\PublishPhoto('uploads/dog.png', true),
            ],
            'batch' => [
                $make(Jobs\CrunchChunk::class, ['chunk' => 1, 'rows' => [[1, 'alpha'], [2, 'beta']]]),
                new Jobs\CrunchChunk(2, [[3, 'gamma']]),
            ],
            'model_single' => [$make(Jobs\GreetUser::class, ['user' => self::users()->find(1), 'template' => 'welcome'])],
            'model_with_relation' => [$make(Jobs\GreetUser::class, [
                'user' => self::users()->with('posts')->find(2), 'template' => 'digest',
            ])],
            'model_collection' => [$make(Jobs\GreetUsers::class, [
                'users' => self::users()->whereIn('id', [1, 3])->orderBy('id')->get(),
            ])],
            'default_omitted' => [$make(Jobs\BuildReport::class, ['title' => 'Q4 numbers', 'pages' => 12])],
            'always_fails' => [$make(Jobs\AlwaysFails::class, [])],
            'fails_then_succeeds' => [$make(Jobs\FlakyJob::class, [])],
            'sleeps_past_timeout' => [$make(Jobs\OverstaysTimeout::class, [])],
            'releases' => [$make(Jobs\ReleasesItself::class, [])],
            'fails_manually' => [$make(Jobs\FailsManually::class, [])],
            'records' => [$make(Jobs\RecordsOnly::class, ['n' => $index])],
            'attribute_options' => [$make(\Fixtures\Jobs13\RetriedByAttribute::class, [])],
            'missing_model_attribute' => [$make(\Fixtures\Jobs13\ForgetsMissingUser::class, ['user' => self::users()->find(3)])],
            default => throw new RuntimeException("kind [{$kind}] has no job object"),
        };
    }

    /** The data array of the string job. */
    public static function stringJobData(array $overrides = []): array
    {
        return array_merge(['orderId' => 17, 'note' => 'Straße & Co / ü', 'items' => ['x', 'y']], $overrides);
    }

    private static function catalog(): array
    {
        return [
            'sku' => 'ÖKO-42',
            7 => 'int key',
            '08' => 'leading-zero string key',
            '-12' => 'negative numeric string key (PHP stores int -12)',
            '2.5' => 'float-like string key',
            ' 9' => 'space-prefixed string key',
            '' => 'empty key',
            'ключ' => 'unicode key',
            'bins' => [['id' => 1, 'name' => 'Zürich', 'slots' => [3, 1, 2]], ['id' => 2, 'name' => '東京', 'slots' => []]],
            'escapes' => [
                'quote" back\\slash /slash', "tab\t newline\n return\r", "nul\0inside",
                "\u{2028}line \u{2029}paragraph", 'emoji 🚀', "del\x7f", "<tag> & 'apostrophe'",
            ],
            'big' => PHP_INT_MAX,
            'min' => PHP_INT_MIN,
            'beyondDouble' => 9007199254740993,
            'sparse' => [0 => 'a', 3 => 'd'],
            'empty' => [],
            'deep' => ['a' => ['b' => ['c' => ['d' => 'deep']]]],
            'mixed' => [1, 'two', 3.0, null, true, false],
        ];
    }

    private static function dates(): array
    {
        return [
            'startsAt' => new DateTime('2024-03-10 01:59:59.500000', new DateTimeZone('America/New_York')),
            'endsAt' => new DateTimeImmutable('2025-10-26 02:30:00', new DateTimeZone('Europe/Berlin')),
            'bookedAt' => Carbon::create(2023, 1, 15, 9, 45, 30, 'Asia/Tokyo'),
            'deadline' => CarbonImmutable::parse('2030-12-31 23:59:59', 'UTC'),
            'reminder' => SupportCarbon::parse('2026-07-04 12:00:00.123456', 'Australia/Adelaide'),
            'offsetStamp' => new DateTimeImmutable('2023-11-05T12:00:00+05:45'),
            'abbreviationStamp' => new DateTime('2022-06-01 08:15:00 CEST'),
        ];
    }

    private static function parcel(): array
    {
        $extras = new stdClass();
        $extras->carrier = 'Post';
        $extras->insured = true;
        $extras->valueChf = 99.95;
        $extras->dims = [30, 20, 10];

        return [
            'orderRef' => 'ORD-9',
            'parcel' => new Parcel('fragile box', 1250, new Coordinates(46.948, 7.4474), ['glass', 'this side up ↑']),
            'extras' => $extras,
        ];
    }

    private static function reference(callable $make): object
    {
        $home = new Location('Bundesplatz 3', 'Bern', '3005');

        return $make(Jobs\CopyLocation::class, [
            'home' => $home, 'work' => $home, 'visited' => [$home, new Location('Rue du Rhône 1', 'Genève', '1204')],
        ]);
    }

    /** The fixture users (created on first use) for the model kinds. */
    private static function users(): \Illuminate\Database\Eloquent\Builder
    {
        foreach ([1 => 'Ada', 2 => 'Grace', 3 => 'Linus'] as $id => $name) {
            FixtureUser::query()->firstOrCreate(['id' => $id], ['name' => $name, 'email' => strtolower($name) . '@example.org']);
        }
        foreach ([1 => 'First post', 2 => 'Second post'] as $id => $title) {
            FixturePost::query()->firstOrCreate(['id' => $id], ['fixture_user_id' => 2, 'title' => $title]);
        }

        return FixtureUser::query();
    }
}
