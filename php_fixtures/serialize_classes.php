<?php
/*
 * Classes shared by the codec's PHP scripts (corpus, live round trips, benchmark).
 * Plain PHP 8.1+; the Bridge\Jobs classes need Laravel's autoloader to be loaded first.
 */

namespace Bridge\Fixtures;

enum Suit: string
{
    case Hearts = 'H';
    case Spades = 'S';
}

enum Level: int
{
    case Low = 1;
    case High = 10;
}

enum Mood
{
    case Happy;
    case Grumpy;
}

class Visible
{
    public $pub = 'a';
    protected $pro = 'b';
    private $pri = 'c';
}

class Base
{
    private $secret = 'base secret';
    protected $shared = 1;
}

class Child extends Base
{
    private $secret = 'child secret';
    public $name = 'child';
}

class Node
{
    public $label;
    public $next;

    public function __construct($label, $next = null)
    {
        $this->label = $label;
        $this->next = $next;
    }
}

/** Old-style Serializable: written as C:, its data is opaque to the outer serialize(). */
class Legacy implements \Serializable
{
    public $payload;

    public function __construct($payload = null)
    {
        $this->payload = $payload;
    }

    public function serialize()
    {
        return serialize($this->payload);
    }

    public function unserialize($data)
    {
        $this->payload = unserialize($data);
    }
}

/** Keeps C: data as raw bytes, so any C: blob unserializes and serializes unchanged. */
class Raw implements \Serializable
{
    public $data = '';

    public function serialize()
    {
        return $this->data;
    }

    public function unserialize($data)
    {
        $this->data = $data;
    }
}

/** __serialize returning integer keys. */
class Pair
{
    public function __construct(public $left = null, public $right = null)
    {
    }

    public function __serialize(): array
    {
        return [0 => $this->left, 1 => $this->right, 7 => 'seven'];
    }

    public function __unserialize(array $data): void
    {
        [$this->left, $this->right] = [$data[0], $data[1]];
    }
}
