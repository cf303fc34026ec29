<?php
/*
 * The container standing in for Laravel's Application: the console commands
 * and the worker ask the application whether it is down for maintenance, and
 * the harness never is.
 */

declare(strict_types=1);

namespace Fixtures\Harness;

use Illuminate\Container\Container;

final class HarnessContainer extends Container
{
    public function isDownForMaintenance(): bool
    {
        return false;
    }

    public function environment(...$environments): string|bool
    {
        return $environments === [] ? 'testing' : in_array('testing', $environments, true);
    }

    public function runningUnitTests(): bool
    {
        return false;
    }
}
