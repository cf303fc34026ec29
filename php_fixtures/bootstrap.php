<?php
/*
 * Shared boot code for every harness script.
 *
 * `require` it and it returns a booted Fixtures\Harness\Harness: Laravel 8's
 * components wired by hand from the environment, the way the framework's own
 * service providers would wire them inside an application.
 */

declare(strict_types=1);

require_once __DIR__ . '/autoload.php';

return Fixtures\Harness\Harness::boot(Fixtures\Harness\Settings::fromEnvironment());
