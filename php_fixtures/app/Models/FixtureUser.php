<?php

declare(strict_types=1);

namespace Fixtures\Models;

use Illuminate\Database\Eloquent\Model;
use Illuminate\Database\Eloquent\Relations\HasMany;

/** An Eloquent model on the harness's fixture_users table. */
class FixtureUser extends Model
{
    protected $table = 'fixture_users';
    public $timestamps = false;
    protected $guarded = [];

    public function posts(): HasMany
    {
        return $this->hasMany(FixturePost::class, 'fixture_user_id');
    }
}
