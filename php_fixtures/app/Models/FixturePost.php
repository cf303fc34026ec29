<?php

declare(strict_types=1);

namespace Fixtures\Models;

use Illuminate\Database\Eloquent\Model;

/** An Eloquent model on fixture_posts, related to FixtureUser. */
class FixturePost extends Model
{
    protected $table = 'fixture_posts';
    public $timestamps = false;
    protected $guarded = [];
}
