<?php
// An SO framework app's autoloader for the tests: `Core\` and `App\` from the framework folder
// named by SO_FRAMEWORK_DIR (PSR-4, as its composer.json maps them), plus its helpers.

$soFramework = rtrim((string)getenv('SO_FRAMEWORK_DIR'), '/');
spl_autoload_register(function (string $class) use ($soFramework): void {
    foreach (['Core\\' => 'core/', 'App\\' => 'app/'] as $prefix => $folder) {
        if (str_starts_with($class, $prefix)) {
            $file = $soFramework . '/' . $folder . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
            if (is_file($file)) {
                require $file;
            }
        }
    }
});
require_once $soFramework . '/core/Support/Helpers.php';
