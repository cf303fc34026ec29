<?php
/*
 * Loads Debian's Laravel 8 and maps the harness's own `Fixtures\` namespace
 * onto app/ (PSR-4). bootstrap.php requires this before booting.
 */

declare(strict_types=1);

require_once '/usr/share/php/Illuminate/autoload.php';

spl_autoload_register(static function (string $class): void {
    $prefix = 'Fixtures\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = __DIR__ . '/app/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
