<?php
/*
 * The harness's tables, created with Laravel's schema builder using the same
 * column definitions as Laravel 8's `queue:table`, `queue:failed-table` and
 * `queue:batches-table` migration stubs (plus the id-only failed_jobs layout of
 * apps that still use the `database` failed driver), and the fixture tables the
 * job classes use.
 */

declare(strict_types=1);

namespace Fixtures\Harness;

use Illuminate\Database\Connection;
use Illuminate\Database\Schema\Blueprint;

final class Schema
{
    public const JOB_LOG = 'fixture_job_log';
    public const USERS = 'fixture_users';
    public const POSTS = 'fixture_posts';
    public const BATCHES = 'job_batches';

    public function __construct(private readonly Connection $db, private readonly Settings $settings)
    {
    }

    /** @return list<string> every table the harness knows, children before parents */
    public function tables(): array
    {
        return [
            $this->settings->queueTable(),
            $this->settings->failedTable(),
            self::BATCHES,
            self::JOB_LOG,
            self::POSTS,
            self::USERS,
        ];
    }

    public function dropAll(): void
    {
        foreach ($this->tables() as $table) {
            $this->db->getSchemaBuilder()->dropIfExists($table);
        }
    }

    /** @return list<string> the tables this call created */
    public function createQueueTables(): array
    {
        $schema = $this->db->getSchemaBuilder();
        $created = [];
        $jobs = $this->settings->queueTable();
        if (! $schema->hasTable($jobs)) {
            $schema->create($jobs, static function (Blueprint $table): void {
                $table->bigIncrements('id');
                $table->string('queue')->index();
                $table->longText('payload');
                $table->unsignedTinyInteger('attempts');
                $table->unsignedInteger('reserved_at')->nullable();
                $table->unsignedInteger('available_at');
                $table->unsignedInteger('created_at');
            });
            $created[] = $jobs;
        }

        $failed = $this->settings->failedTable();
        $withUuid = $this->settings->failedDriver() === 'database-uuids';
        if (! $schema->hasTable($failed)) {
            $schema->create($failed, static function (Blueprint $table) use ($withUuid): void {
                $table->id();
                if ($withUuid) {
                    $table->string('uuid')->unique();
                }
                $table->text('connection');
                $table->text('queue');
                $table->longText('payload');
                $table->longText('exception');
                $table->timestamp('failed_at')->useCurrent();
            });
            $created[] = $failed;
        }

        if (! $schema->hasTable(self::BATCHES)) {
            $schema->create(self::BATCHES, static function (Blueprint $table): void {
                $table->string('id')->primary();
                $table->string('name');
                $table->integer('total_jobs');
                $table->integer('pending_jobs');
                $table->integer('failed_jobs');
                $table->text('failed_job_ids');
                $table->mediumText('options')->nullable();
                $table->integer('cancelled_at')->nullable();
                $table->integer('created_at');
                $table->integer('finished_at')->nullable();
            });
            $created[] = self::BATCHES;
        }

        return $created;
    }

    /** @return list<string> the tables this call created */
    public function createFixtureTables(): array
    {
        $schema = $this->db->getSchemaBuilder();
        $created = [];
        if (! $schema->hasTable(self::JOB_LOG)) {
            $schema->create(self::JOB_LOG, static function (Blueprint $table): void {
                $table->bigIncrements('id');
                $table->string('uuid')->nullable()->index();
                $table->string('job_class');
                $table->string('worker', 16);
                $table->integer('pid');
                $table->integer('attempts');
                $table->longText('values');
                $table->unsignedInteger('created_at');
            });
            $created[] = self::JOB_LOG;
        }
        if (! $schema->hasTable(self::USERS)) {
            $schema->create(self::USERS, static function (Blueprint $table): void {
                $table->bigIncrements('id');
                $table->string('name');
                $table->string('email');
            });
            $created[] = self::USERS;
        }
        if (! $schema->hasTable(self::POSTS)) {
            $schema->create(self::POSTS, static function (Blueprint $table): void {
                $table->bigIncrements('id');
                $table->unsignedBigInteger('fixture_user_id')->index();
                $table->string('title');
            });
            $created[] = self::POSTS;
        }

        return $created;
    }
}
