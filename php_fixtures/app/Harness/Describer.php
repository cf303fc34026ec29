<?php
/*
 * The value description: a JSON-safe, lossless picture of a PHP value, in the
 * format of the shared fixture set's README ("Value description"). Both the
 * dispatch side and every handler (PHP here, Python in the tests) describe what
 * they hold in this format, so tests compare descriptions, never PHP objects.
 */

declare(strict_types=1);

namespace Fixtures\Harness;

use DateTime;
use DateTimeInterface;
use Illuminate\Contracts\Queue\QueueableCollection;
use Illuminate\Database\Eloquent\Model;
use ReflectionClass;
use ReflectionProperty;
use SplObjectStorage;
use UnitEnum;

final class Describer
{
    public const JSON_FLAGS = JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES
        | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR;

    /** @var SplObjectStorage<object, string> first path at which each object was seen */
    private SplObjectStorage $seen;

    public function __construct()
    {
        $this->seen = new SplObjectStorage();
    }

    /**
     * The job's own declared properties (not those its traits bring), in
     * declaration order, with their visibility and declared defaults.
     *
     * @return array{properties: object, visibility: object, defaults: object}
     */
    public static function job(object $job): array
    {
        $describer = new self();
        $properties = $visibility = $defaults = [];
        foreach (self::ownProperties(new ReflectionClass($job)) as $property) {
            $name = $property->getName();
            $visibility[$name] = self::visibility($property);
            if ($property->hasDefaultValue()) {
                $defaults[$name] = (new self())->describe($property->getDefaultValue(), '/' . $name);
            }
            if ($property->isInitialized($job)) {
                $properties[$name] = $describer->describe($property->getValue($job), '/' . self::pointer($name));
            }
        }

        return [
            'properties' => (object) $properties,
            'visibility' => (object) $visibility,
            'defaults' => (object) $defaults,
        ];
    }

    /** @return list<ReflectionProperty> */
    public static function ownProperties(ReflectionClass $class): array
    {
        $fromTraits = [];
        foreach (self::allTraits($class) as $trait) {
            foreach ($trait->getProperties() as $property) {
                $fromTraits[$property->getName()] = true;
            }
        }
        $own = [];
        foreach ($class->getProperties() as $property) {
            if (! $property->isStatic() && ! isset($fromTraits[$property->getName()])) {
                $own[] = $property;
            }
        }

        return $own;
    }

    /** @return list<ReflectionClass> every trait used by the class, its parents and its traits */
    private static function allTraits(ReflectionClass $class): array
    {
        $traits = [];
        for ($current = $class; $current !== false; $current = $current->getParentClass()) {
            $pending = array_values($current->getTraits());
            while ($pending !== []) {
                $trait = array_shift($pending);
                $traits[] = $trait;
                array_push($pending, ...array_values($trait->getTraits()));
            }
        }

        return $traits;
    }

    private static function visibility(ReflectionProperty $property): string
    {
        return $property->isPrivate() ? 'private' : ($property->isProtected() ? 'protected' : 'public');
    }

    private static function pointer(string|int $segment): string
    {
        return str_replace(['~', '/'], ['~0', '~1'], (string) $segment);
    }

    public function describe(mixed $value, string $path = ''): mixed
    {
        if (is_float($value)) {
            if (is_nan($value)) {
                return ['float' => 'NAN'];
            }

            return is_infinite($value) ? ['float' => $value > 0 ? 'INF' : '-INF'] : $value;
        }
        if (is_array($value)) {
            return $this->describeArray($value, $path);
        }
        if (is_object($value)) {
            return $this->describeObject($value, $path);
        }

        return $value;
    }

    private function describeArray(array $value, string $path): mixed
    {
        if (array_is_list($value)) {
            $items = [];
            foreach ($value as $index => $item) {
                $items[] = $this->describe($item, $path . '/' . $index);
            }

            return $items;
        }
        $pairs = [];
        foreach ($value as $key => $item) {
            $pairs[] = [$key, $this->describe($item, $path . '/' . self::pointer($key))];
        }

        return ['array' => $pairs];
    }

    private function describeObject(object $value, string $path): mixed
    {
        if ($value instanceof UnitEnum) {
            $case = ['enum' => get_class($value), 'case' => $value->name];
            if ($value instanceof \BackedEnum) {
                $case['value'] = $value->value;
            }

            return $case;
        }
        if ($value instanceof DateTimeInterface) {
            $state = DateTime::createFromInterface($value)->__serialize();

            return [
                'datetime' => $value->format('Y-m-d\TH:i:s.uP'),
                'timezone' => $state['timezone'],
                'timezone_type' => $state['timezone_type'],
                'class' => get_class($value),
            ];
        }
        if ($value instanceof Model) {
            return [
                'model' => get_class($value),
                'key' => $value->getQueueableId(),
                'connection' => $value->getQueueableConnection(),
                'relations' => $value->getQueueableRelations(),
            ];
        }
        if ($value instanceof QueueableCollection) {
            return [
                'model_collection' => $value->getQueueableClass(),
                'keys' => $value->getQueueableIds(),
                'connection' => $value->getQueueableConnection(),
                'collection_class' => get_class($value),
            ];
        }
        if ($this->seen->contains($value)) {
            return ['ref' => $this->seen[$value]];
        }
        $this->seen[$value] = $path;

        $class = get_class($value);
        if ($value instanceof \__PHP_Incomplete_Class) {
            $class = (array) $value;
            $class = $class['__PHP_Incomplete_Class_Name'];
        }
        $properties = $visibility = [];
        foreach ((array) $value as $mangled => $item) {
            [$name, $seenAs] = self::unmangle((string) $mangled);
            if ($name === '__PHP_Incomplete_Class_Name') {
                continue;
            }
            $properties[$name] = $this->describe($item, $path . '/' . self::pointer($name));
            $visibility[$name] = $seenAs;
        }

        return ['object' => $class, 'properties' => (object) $properties, 'visibility' => (object) $visibility];
    }

    /** @return array{0: string, 1: string} the bare name and its visibility */
    private static function unmangle(string $key): array
    {
        if ($key === '' || $key[0] !== "\0") {
            return [$key, 'public'];
        }
        $end = strpos($key, "\0", 1);
        $scope = substr($key, 1, $end - 1);

        return [substr($key, $end + 1), $scope === '*' ? 'protected' : 'private'];
    }
}
