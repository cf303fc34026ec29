<?php
/*
 * Loads the Laravel the harness runs and maps the harness's own `Fixtures\`
 * namespace onto app/ (PSR-4). bootstrap.php requires this before booting.
 *
 * Debian's Laravel 8 by default. With LARAVEL_FRAMEWORK=13.26.1 (or 12.67.0) the
 * laravel/framework tree of that version from shared/laravel-live/ (beside the
 * repository, or LARAVEL_LIVE_DIR) is loaded instead, through that folder's own
 * loader; those versions need PHP 8.3 (the WebAssembly build the tests install).
 */

declare(strict_types=1);

(static function (): void {
    $version = (string) getenv('LARAVEL_FRAMEWORK');
    if ($version === '' || $version === '8') {
        require_once '/usr/share/php/Illuminate/autoload.php';

        return;
    }
    $live = (string) getenv('LARAVEL_LIVE_DIR');
    if ($live === '') {
        $live = dirname(__DIR__) . '/../shared/laravel-live';
    }
    $framework = "{$live}/framework/{$version}";
    if (! is_file("{$framework}/composer.json")) {
        throw new RuntimeException("no laravel/framework {$version} at {$framework}");
    }
    require_once "{$live}/autoload.php";
    lv_autoload($framework, "{$live}/vendor/serializable-closure-2.0.1/src");
})();

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
