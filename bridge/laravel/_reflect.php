<?php
/*
 * bridge stubs: load PHP files, reflect every queueable job class, print JSON.
 *
 *   php _reflect.php [--autoload FILE] PATH...
 *
 * Output: {"classes": [{name, parent, traits, interfaces, properties, methods, attributes,
 * abstract, job}], "values": [the plain classes the jobs' typed properties hold, same
 * shape], "errors": [...]}. Attributes are read by name and arguments, never instantiated
 * (their classes need not exist: Laravel 13's queue attributes on a Laravel 8 install).
 * A `retryUntil()` result also carries `from_now`: its timestamp minus the time it was
 * called, since such deadlines are relative to the dispatch. Values (defaults, method results) use the value description of
 * bridge's fixture format: plain JSON, {"array": [[k, v], ...]} for non-list arrays,
 * {"float": "INF"}, {"enum": C, "case": N}, {"object": C, "properties": {...},
 * "visibility": {...}} (dates included, as PHP serializes them).
 */

declare(strict_types=1);

const SHOULD_QUEUE = 'Illuminate\\Contracts\\Queue\\ShouldQueue';
const DEBIAN_AUTOLOAD = '/usr/share/php/Illuminate/autoload.php';
const OPTION_METHODS = ['displayName', 'retryUntil', 'backoff', 'tries'];

function bridge_describe(mixed $value): mixed
{
    if (is_float($value)) {
        if (is_nan($value)) {
            return ['float' => 'NAN'];
        }
        if (is_infinite($value)) {
            return ['float' => $value > 0 ? 'INF' : '-INF'];
        }
        return $value;
    }
    if (is_array($value)) {
        if (array_is_list($value)) {
            return array_map('bridge_describe', $value);
        }
        $pairs = [];
        foreach ($value as $k => $v) {
            $pairs[] = [$k, bridge_describe($v)];
        }
        return ['array' => $pairs];
    }
    if ($value instanceof UnitEnum) {
        return ['enum' => get_class($value), 'case' => $value->name];
    }
    if (is_object($value)) {
        $props = [];
        $visibility = [];
        foreach ((array) $value as $key => $v) {
            $parts = explode("\0", (string) $key);
            $name = end($parts);
            $props[$name] = bridge_describe($v);
            $visibility[$name] = count($parts) === 1 ? 'public' : ($parts[1] === '*' ? 'protected' : 'private');
        }
        if ($value instanceof DateTimeInterface) {
            $props = [];
            $visibility = [];
            foreach ($value->__serialize() as $k => $v) {
                $props[$k] = $v;
                $visibility[$k] = 'public';
            }
        }
        return ['object' => get_class($value), 'properties' => (object) $props, 'visibility' => (object) $visibility];
    }
    return $value;
}

function bridge_type_kinds(?ReflectionType $type): array
{
    $kinds = [];
    $members = $type instanceof ReflectionUnionType ? $type->getTypes() : ($type ? [$type] : []);
    foreach ($members as $member) {
        if (! $member instanceof ReflectionNamedType || $member->isBuiltin()) {
            continue;
        }
        $name = $member->getName();
        if (enum_exists($name)) {
            $kinds[$name] = 'enum';
        } elseif (is_a($name, DateTimeInterface::class, true)) {
            $kinds[$name] = 'date';
        } elseif (is_a($name, 'Illuminate\\Database\\Eloquent\\Collection', true)) {
            $kinds[$name] = 'collection';
        } elseif (is_a($name, 'Illuminate\\Database\\Eloquent\\Model', true)) {
            $kinds[$name] = 'model';
        } else {
            $kinds[$name] = 'class';
        }
    }
    return $kinds;
}

function bridge_attributes(ReflectionClass $class): array
{
    // The class's own attributes, then those of its traits (Laravel 13 looks in both).
    $found = [];
    foreach ([$class, ...array_values($class->getTraits())] as $owner) {
        foreach ($owner->getAttributes() as $attribute) {
            $positional = [];
            $named = [];
            foreach ($attribute->getArguments() as $key => $value) {
                if (is_int($key)) {
                    $positional[] = bridge_describe($value);
                } else {
                    $named[$key] = bridge_describe($value);
                }
            }
            $found[] = [
                'name' => $attribute->getName(),
                'arguments' => $positional,
                'named' => (object) $named,
                'trait' => $owner === $class ? null : $owner->getName(),
            ];
        }
    }
    return $found;
}

function bridge_value_classes(array $classes, array $seen = []): array
{
    // Plain classes named by the properties' types (not enums, dates, models), recursively.
    $found = [];
    foreach ($classes as $class) {
        $all = [];
        for ($c = $class; $c; $c = $c['parent']) {
            array_push($all, ...$c['properties']);
        }
        foreach ($all as $p) {
            foreach ((array) $p['kinds'] as $name => $kind) {
                if ($kind !== 'class' || isset($seen[$name]) || ! class_exists($name)) {
                    continue;
                }
                $reflected = new ReflectionClass($name);
                if ($reflected->isInterface() || $reflected->isAbstract() || $reflected->isInternal()) {
                    continue;
                }
                $seen[$name] = true;
                $described = bridge_class($reflected);
                $found[] = $described;
                foreach (bridge_value_classes([$described], $seen) as $more) {
                    $seen[$more['name']] = true;
                    $found[] = $more;
                }
            }
        }
    }
    return $found;
}

function bridge_stamp(mixed $value): ?int
{
    return $value instanceof DateTimeInterface ? $value->getTimestamp() : (is_int($value) ? $value : null);
}

/*
 * Whether retryUntil() counts from the clock (now()->addMinutes(10), time() + 600): call it,
 * wait for the next second, call it again. A deadline that moved with the clock is returned
 * as seconds from the call; a fixed one (or no timestamp at all) as null.
 */
function bridge_from_now(object $instance): ?int
{
    $start = time();
    $first = bridge_stamp($instance->retryUntil());
    while (time() === $start) {
        usleep(20000);
    }
    $at = time();
    $second = bridge_stamp($instance->retryUntil());
    if ($first === null || $second === null || $second === $first) {
        return null;
    }
    return $second - $at;
}

function bridge_trait_properties(ReflectionClass $class): array
{
    $names = [];
    foreach ($class->getTraits() as $trait) {
        foreach ($trait->getProperties() as $p) {
            $names[$p->getName()] = $trait->getName();
        }
        foreach (bridge_trait_properties($trait) as $name => $owner) {
            $names[$name] = $owner;
        }
    }
    return $names;
}

function bridge_class(ReflectionClass $class): array
{
    $fromTraits = bridge_trait_properties($class);
    $parent = $class->getParentClass();
    $inherited = $parent ? array_map(fn ($p) => $p->getName(), array_filter(
        $parent->getProperties(), fn ($p) => ! $p->isPrivate()
    )) : [];
    $properties = [];
    foreach ($class->getProperties() as $p) {
        if ($p->isStatic() || $p->getDeclaringClass()->getName() !== $class->getName()) {
            continue;
        }
        if (isset($fromTraits[$p->getName()]) && ! $p->isPromoted()) {
            continue;
        }
        $type = $p->getType();
        $properties[] = [
            'name' => $p->getName(),
            'visibility' => $p->isPrivate() ? 'private' : ($p->isProtected() ? 'protected' : 'public'),
            'type' => $type === null ? null : (string) $type,
            'kinds' => (object) bridge_type_kinds($type),
            'has_default' => $p->hasDefaultValue(),
            'default' => $p->hasDefaultValue() ? bridge_describe($p->getDefaultValue()) : null,
            'redeclared' => in_array($p->getName(), $inherited, true),
        ];
    }
    $methods = [];
    foreach (OPTION_METHODS as $method) {
        if (! $class->hasMethod($method)) {
            continue;
        }
        $entry = ['known' => false, 'value' => null];
        try {
            if (! $class->isAbstract() && $class->getMethod($method)->getNumberOfRequiredParameters() === 0) {
                $instance = $class->newInstanceWithoutConstructor();
                $value = $instance->{$method}();
                $entry = ['known' => true, 'value' => bridge_describe($value)];
                if ($method === 'retryUntil') {
                    $from = bridge_from_now($instance);
                    if ($from !== null) {
                        $entry['from_now'] = $from;
                    }
                }
            }
        } catch (Throwable $e) {
            $entry = ['known' => false, 'value' => null, 'error' => $e->getMessage()];
        }
        $methods[$method] = $entry;
    }
    return [
        'name' => $class->getName(),
        'parent' => $parent ? bridge_class($parent) : null,
        'traits' => array_values($class->getTraitNames()),
        'interfaces' => array_values(array_diff(
            $class->getInterfaceNames(),
            $parent ? $parent->getInterfaceNames() : [],
        )),
        'properties' => $properties,
        'methods' => (object) $methods,
        'attributes' => bridge_attributes($class),
        'abstract' => $class->isAbstract(),
        'job' => $class->implementsInterface(SHOULD_QUEUE),
    ];
}

function bridge_declared_in(string $file): array
{
    $tokens = token_get_all((string) file_get_contents($file));
    $namespace = '';
    $classes = [];
    $count = count($tokens);
    for ($i = 0; $i < $count; $i++) {
        $token = $tokens[$i];
        if (! is_array($token)) {
            continue;
        }
        if ($token[0] === T_NAMESPACE) {
            $namespace = '';
            for ($j = $i + 1; $j < $count && $tokens[$j] !== ';' && $tokens[$j] !== '{'; $j++) {
                if (is_array($tokens[$j]) && in_array($tokens[$j][0], [T_NAME_QUALIFIED, T_STRING], true)) {
                    $namespace .= $tokens[$j][1];
                }
            }
        } elseif ($token[0] === T_CLASS) {
            $prev = $i > 0 ? $tokens[$i - 1] : null;
            for ($j = $i - 1; $j >= 0 && is_array($tokens[$j]) && $tokens[$j][0] === T_WHITESPACE; $j--) {
            }
            if ($j >= 0 && is_array($tokens[$j]) && in_array($tokens[$j][0], [T_DOUBLE_COLON, T_NEW], true)) {
                continue;
            }
            for ($j = $i + 1; $j < $count; $j++) {
                if (is_array($tokens[$j]) && $tokens[$j][0] === T_STRING) {
                    $classes[] = ltrim($namespace . '\\' . $tokens[$j][1], '\\');
                    break;
                }
                if ($tokens[$j] === '{' || $tokens[$j] === '(') {
                    break;
                }
            }
        }
    }
    return $classes;
}

$args = array_slice($argv, 1);
$autoload = null;
$paths = [];
for ($i = 0; $i < count($args); $i++) {
    if ($args[$i] === '--autoload') {
        $autoload = $args[++$i] ?? null;
    } else {
        $paths[] = $args[$i];
    }
}
if ($autoload !== null) {
    require_once $autoload;
} elseif (is_file(DEBIAN_AUTOLOAD)) {
    require_once DEBIAN_AUTOLOAD;
}
$files = [];
foreach ($paths as $path) {
    if (is_dir($path)) {
        $it = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($path, FilesystemIterator::SKIP_DOTS));
        foreach ($it as $f) {
            if ($f->isFile() && str_ends_with($f->getFilename(), '.php')) {
                $files[] = $f->getPathname();
            }
        }
    } elseif (is_file($path)) {
        $files[] = $path;
    } else {
        fwrite(STDERR, "no such file or directory: {$path}\n");
        exit(2);
    }
}
sort($files);
$names = [];
$errors = [];
foreach ($files as $file) {
    $declared = bridge_declared_in($file);
    try {
        $missing = array_filter($declared, fn ($c) => ! class_exists($c));
        if ($missing !== [] && count($missing) === count($declared)) {
            require_once $file;
        }
    } catch (Throwable $e) {
        $errors[] = "{$file}: {$e->getMessage()}";
        continue;
    }
    array_push($names, ...$declared);
}
$out = [];
foreach (array_unique($names) as $name) {
    if (! class_exists($name)) {
        continue;
    }
    $class = new ReflectionClass($name);
    if ($class->implementsInterface(SHOULD_QUEUE) && ! $class->isAbstract()) {
        $out[] = bridge_class($class);
    }
}
// PRESERVE_ZERO_FRACTION: a float 1.0 must stay a float (json_encode writes 1 otherwise).
echo json_encode(
    ['classes' => $out, 'values' => bridge_value_classes($out), 'errors' => $errors],
    JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR
), "\n";
