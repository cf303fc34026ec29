/*
 * bridge.php._cencode: a C fast path in front of the pure-Python PhpEncoder.
 *
 * encode(value, max_depth, object_type, /) returns exactly the bytes
 * PhpEncoder(max_depth=max_depth).encode(value) returns, for the values real payloads are
 * made of, all matched by exact type: None, bool, int (within int64), float, str (valid
 * UTF-8), bytes, list, dict (int keys and str keys), and object_type (PhpObject) instances
 * with a str class name and a dict of int and str property keys.
 *
 * For anything else it returns NotImplemented, and the Python encoder does the work and
 * raises its exact error: other types and subclasses (tuple, bytearray, StrEnum, IntEnum,
 * PhpEnum, PhpCustom, PhpReference, ...), an int outside int64, a str with lone
 * surrogates, bytes or bool keys, a dict holding both int keys and str keys PHP would
 * store as ints (5 and "5" would merge), any PhpObject met a second time in one call
 * (PHP writes r: for it), and nesting deeper than max_depth, than the frames the Python
 * encoder would have left allow (see FRAME_MARGIN), or than NESTING_CAP. It raises only
 * for wrong argument types and MemoryError.
 *
 * Floats are formatted here, to the text the Python encoder's _float_token writes (see
 * write_float): calling back into Python for each one took nearly two thirds of the time.
 *
 * No Python code runs during a call: nothing here calls back into the interpreter (the
 * attributes of PhpObject are slots) and nothing allocated here is tracked by the garbage
 * collector. So the value cannot change under the walk, and borrowed references stay valid.
 *
 * Convention: every writer returns ENC_OK, ENC_FALLBACK (no exception set: "return
 * NotImplemented") or ENC_ERROR (an exception is set: MemoryError).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { ENC_OK = 0, ENC_FALLBACK = 1, ENC_ERROR = -1 };

/*
 * Recursion. Where this file recurses in C, the Python encoder recurses in interpreter
 * frames: one per array level (_entries), two per object level (encode_object and
 * _entries), three above the outermost container (encode, _value, encode_<type>) and
 * two below the innermost one (_key and _str_token, or _float_token and format_float). It
 * turns a RecursionError into an error, so this file must decline wherever the Python
 * encoder would run out of frames: it counts the frames the Python encoder would push,
 * FRAME_MARGIN up front (3 above, room for 5 below, and 2 for a caller that reaches the
 * Python encoder one function deeper than this one) and then each level's, against the
 * frames it would have left (python_frames_left).
 */
#define FRAME_MARGIN 10
#define ARRAY_FRAMES 1
#define OBJECT_FRAMES 2

/*
 * This file's own recursion runs on the C stack of the calling thread, which may be as
 * small as 32 KiB (the least threading.stack_size() accepts); frames are not what bounds
 * it. Two bounds, each a fallback to the Python encoder (whose frames live on the heap),
 * not an error:
 * - NESTING_CAP containers, even where max_depth and a raised recursion limit allow more:
 *   a few hundred bytes of stack per level in an optimized build keep 64 levels under
 *   20 KiB. Real payloads nest a dozen deep at most.
 * - STACK_BUDGET bytes of C stack used since the call began, measured by the address of
 *   a local: it holds for builds whose frames are larger (no optimization, sanitizers).
 */
#define NESTING_CAP 64
#define STACK_BUDGET (16 * 1024)
/* Levels this shallow use a few KiB at most in any build: the stack is measured deeper. */
#define STACK_CHECK_FROM 16

/* Room for any decimal a token holds: "-9223372036854775808" is 20 characters. */
#define DECIMAL_MAX 20

/* Room for any float text put_php_float writes: "-1.2345678901234567E-308" is 24. */
#define FLOAT_TEXT_MAX 32

typedef struct {
    char *data;  /* PyMem-allocated */
    Py_ssize_t len;
    Py_ssize_t cap;
} Buffer;

/* An open-addressing set of the PhpObjects written so far in this call (by address). */
typedef struct {
    PyObject **slots;  /* PyMem-allocated; NULL marks a free slot */
    size_t cap;        /* a power of two, or 0 before the first object */
    size_t used;
} ObjectSet;

typedef struct {
    Buffer out;
    ObjectSet objects;
    PyTypeObject *object_type;
    long max_depth;   /* a container at this nesting level or shallower is written */
    int frames_left;  /* Python frames the Python encoder would still have here */
    uintptr_t stack_base; /* the address of a local of encode(): where the stack began */
} Encoder;

/* Attribute names of PhpObject, interned once. */
static PyObject *str_class_name;
static PyObject *str_properties;

static int encode_value(Encoder *e, PyObject *value, int level);

/* -- output buffer ------------------------------------------------------------------- */

static int buf_grow(Buffer *b, Py_ssize_t need)
{
    Py_ssize_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < need) {
        if (cap > PY_SSIZE_T_MAX / 2) {
            PyErr_NoMemory();
            return ENC_ERROR;
        }
        cap *= 2;
    }
    char *data = PyMem_Realloc(b->data, (size_t)cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return ENC_ERROR;
    }
    b->data = data;
    b->cap = cap;
    return ENC_OK;
}

/* Make room for `need` more bytes; the put_* helpers below write without checking. */
static inline int buf_reserve(Buffer *b, Py_ssize_t need)
{
    return b->cap - b->len >= need ? ENC_OK : buf_grow(b, need);
}

static inline void put(Buffer *b, const char *bytes, Py_ssize_t n)
{
    memcpy(b->data + b->len, bytes, (size_t)n);
    b->len += n;
}

static inline void put_char(Buffer *b, char c) { b->data[b->len++] = c; }

#define PUT_LITERAL(b, text) put((b), (text), (Py_ssize_t)sizeof(text) - 1)

static const char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* The decimal digits of v, as b"%d" % v writes them (DECIMAL_MAX bytes reserved). */
static void put_decimal(Buffer *b, long long v)
{
    if (v >= 0 && v < 10) {  /* most list keys and lengths: one digit */
        put_char(b, (char)('0' + v));
        return;
    }
    char digits[DECIMAL_MAX];
    int start = DECIMAL_MAX;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    while (u >= 100) {
        start -= 2;
        memcpy(digits + start, digit_pairs + 2 * (u % 100), 2);
        u /= 100;
    }
    if (u >= 10) {
        start -= 2;
        memcpy(digits + start, digit_pairs + 2 * u, 2);
    }
    else {
        digits[--start] = (char)('0' + u);
    }
    if (v < 0)
        digits[--start] = '-';
    put(b, digits + start, DECIMAL_MAX - start);
}

static int write_literal(Buffer *b, const char *text, Py_ssize_t n)
{
    if (buf_reserve(b, n) < 0)
        return ENC_ERROR;
    put(b, text, n);
    return ENC_OK;
}

/* a:<n>:{ */
static int write_array_open(Buffer *b, Py_ssize_t n)
{
    if (buf_reserve(b, DECIMAL_MAX + 4) < 0)
        return ENC_ERROR;
    PUT_LITERAL(b, "a:");
    put_decimal(b, n);
    PUT_LITERAL(b, ":{");
    return ENC_OK;
}

/* -- scalars ------------------------------------------------------------------------- */

/* i:<v>; for any int in int64 (the Python encoder refuses the others). */
static int write_int(Buffer *b, long long v)
{
    if (buf_reserve(b, DECIMAL_MAX + 3) < 0)
        return ENC_ERROR;
    PUT_LITERAL(b, "i:");
    put_decimal(b, v);
    put_char(b, ';');
    return ENC_OK;
}

static int write_int_object(Buffer *b, PyObject *number)
{
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(number, &overflow);
    if (overflow)
        return ENC_FALLBACK;  /* PhpIntegerOverflowError in Python */
    if (v == -1 && PyErr_Occurred())
        return ENC_ERROR;
    return write_int(b, v);
}

/* s:<n>:"<bytes>"; */
static int write_string(Buffer *b, const char *bytes, Py_ssize_t n)
{
    if (buf_reserve(b, n + DECIMAL_MAX + 6) < 0)
        return ENC_ERROR;
    PUT_LITERAL(b, "s:");
    put_decimal(b, n);
    PUT_LITERAL(b, ":\"");
    put(b, bytes, n);
    PUT_LITERAL(b, "\";");
    return ENC_OK;
}

/*
 * The UTF-8 of a str, as str.encode() gives it. A str with lone surrogates has none: the
 * Python encoder raises PhpEncodeError for it, so that is a fallback. (CPython keeps the
 * UTF-8 of a non-ASCII str with the str; an ASCII str is its own UTF-8.)
 */
static int utf8_of(PyObject *text, const char **bytes, Py_ssize_t *n)
{
    *bytes = PyUnicode_AsUTF8AndSize(text, n);
    if (*bytes != NULL)
        return ENC_OK;
    if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
        return ENC_ERROR;
    PyErr_Clear();
    return ENC_FALLBACK;
}

static int write_str(Buffer *b, PyObject *text)
{
    const char *bytes;
    Py_ssize_t n;
    int rc = utf8_of(text, &bytes, &n);
    return rc != ENC_OK ? rc : write_string(b, bytes, n);
}

/*
 * The text format_float() in _types.py returns, transcribed step for step, from the
 * text repr() gives for the same double (PyOS_double_to_string with these arguments is
 * what float.__repr__ calls): repr's text, with a trailing ".0" left off and inf/nan
 * spelled INF/NAN; an exponent form rewritten to fixed notation when the point sits 3
 * places left of the first digit up to 17 right of it, else to d.dddE+x.
 */
static void put_php_float(Buffer *b, const char *repr)
{
    size_t n = strlen(repr);
    const char *exponent = strchr(repr, 'e');
    if (exponent == NULL) {
        if (n >= 2 && repr[n - 2] == '.' && repr[n - 1] == '0')
            put(b, repr, (Py_ssize_t)n - 2);
        else if (strcmp(repr, "inf") == 0)
            PUT_LITERAL(b, "INF");
        else if (strcmp(repr, "-inf") == 0)
            PUT_LITERAL(b, "-INF");
        else if (strcmp(repr, "nan") == 0)
            PUT_LITERAL(b, "NAN");
        else
            put(b, repr, (Py_ssize_t)n);
        return;
    }
    const char *mantissa = repr;
    if (*mantissa == '-') {
        put_char(b, '-');
        mantissa++;
    }
    char digits[FLOAT_TEXT_MAX];  /* the mantissa without its point: at most 17 digits */
    int n_digits = 0;
    for (const char *p = mantissa; p < exponent; p++)
        if (*p != '.')
            digits[n_digits++] = *p;
    /* repr gives d.ddde<x>, so the point sits x + 1 places after the first digit. */
    int decpt = atoi(exponent + 1) + 1;
    if (-3 <= decpt && decpt <= 17) {
        put(b, digits, n_digits);
        for (int i = n_digits; i < decpt; i++)
            put_char(b, '0');
        return;
    }
    int exp = decpt - 1;
    put_char(b, digits[0]);
    put_char(b, '.');
    if (n_digits > 1)
        put(b, digits + 1, n_digits - 1);
    else
        put_char(b, '0');
    put_char(b, 'E');
    put_char(b, exp > 0 ? '+' : '-');
    put_decimal(b, exp > 0 ? exp : -exp);
}

#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
/*
 * repr's digits without dtoa, for the floats payloads mostly hold (prices, measures):
 * 1e-4 <= |x| < 1e15 with at most 15 significant digits, where repr is fixed notation and
 * PHP's text is repr's without a trailing ".0": [-]<integer part>[.<k digits>]. Returns
 * 0 (having written nothing) for any other x. Why the digits are repr's:
 *
 * For k = 0, 1, ... while |x| * 10^k < 10^15, m is |x| * 10^k rounded, and the first k
 * where m / 10^k == |x| gives the digits of m, with the point k places from the right.
 * - m < 2^53 and 10^k (k <= 22) are exact doubles and IEEE division rounds correctly, so
 *   the test is exactly "the decimal m * 10^-k reads back as x".
 * - Multiples of 10^-k lie more than 4 ulps of x apart here (m < 10^15, ulp <= 2^-52
 *   |x|), so at most one reads back as x, and |x| * 10^k is within 0.25 of that one
 *   (x's and the product's rounding, each under 0.12), so rounding finds it.
 * - repr gives the shortest digits that read back as x. A decimal with fewer digits than
 *   the one found would need fewer places after the point, and so be found at a smaller
 *   k; or lie below a power of ten that the found one is above, with that power of ten
 *   (one digit, fewer places than the found one) reading back as x and found first.
 *   Being the only one of its length, it is also the nearest, repr's tie-break; and the
 *   first k that works has a last digit other than 0 after the point, as repr has.
 */
static const double powers_of_ten[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static int put_short_float(Buffer *b, double x)
{
    double a = x < 0 ? -x : x;
    if (!(a >= 1e-4 && a < 1e15))  /* NaN fails too */
        return 0;
    for (int k = 0; k <= 22; k++) {
        double scaled = a * powers_of_ten[k];
        if (scaled >= 1e15)
            return 0;
        long long m = (long long)(scaled + 0.5);  /* exact: scaled < 2^50 */
        if ((double)m / powers_of_ten[k] != a)
            continue;
        /* m's digits, padded with zeros to more than k; k <= 18 as |x| >= 1e-4 */
        char digits[DECIMAL_MAX];
        int start = DECIMAL_MAX;
        do {
            digits[--start] = (char)('0' + m % 10);
            m /= 10;
        } while (m != 0);
        while (DECIMAL_MAX - start <= k)
            digits[--start] = '0';
        if (x < 0)
            put_char(b, '-');
        put(b, digits + start, DECIMAL_MAX - k - start);
        if (k > 0) {
            put_char(b, '.');
            put(b, digits + DECIMAL_MAX - k, k);
        }
        return 1;
    }
    return 0;
}
#else
/* Without strict double evaluation the proof above does not hold: dtoa for all. */
static int put_short_float(Buffer *b, double x)
{
    (void)b;
    (void)x;
    return 0;
}
#endif

/* d:<PHP's float text>; */
static int write_float(Buffer *b, double x)
{
    if (buf_reserve(b, FLOAT_TEXT_MAX + 3) < 0)
        return ENC_ERROR;
    PUT_LITERAL(b, "d:");
    if (!put_short_float(b, x)) {
        char *repr = PyOS_double_to_string(x, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
        if (repr == NULL)
            return ENC_ERROR;
        put_php_float(b, repr);
        PyMem_Free(repr);
    }
    put_char(b, ';');
    return ENC_OK;
}

/* -- keys ---------------------------------------------------------------------------- */

/*
 * Whether PHP stores the string array key `s` as an int: the _CANONICAL_INT test of the
 * Python encoder (-?[1-9][0-9]{0,18}|0, ASCII digits only) and within int64. Testing
 * the UTF-8 bytes is testing the str: any other character gives bytes >= 0x80.
 */
static int is_canonical_int(const char *s, Py_ssize_t n)
{
    if (n == 1 && s[0] == '0')
        return 1;
    int negative = n > 0 && s[0] == '-';
    Py_ssize_t i = negative;
    if (n - i < 1 || n - i > 19 || s[i] < '1' || s[i] > '9')
        return 0;
    unsigned long long value = 0;  /* 19 digits fit: 10^19 - 1 < 2^64 */
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        value = value * 10 + (unsigned long long)(s[i] - '0');
    }
    return value <= (unsigned long long)INT64_MAX + (unsigned long long)negative;
}

/* Which kinds of key an array has had so far; see write_array_key. */
enum { KEY_INT = 1, KEY_NUMERIC_STR = 2 };

/*
 * An array key as PHP stores it: an int as i:, a str that is a canonical int64 decimal
 * as i: too, any other str as s:. A dict with both int keys and such str keys falls back:
 * where they are equal (5 and "5") PHP would merge them, which the Python encoder refuses.
 */
static int write_array_key(Buffer *b, PyObject *key, int *kinds)
{
    if (Py_IS_TYPE(key, &PyLong_Type)) {
        *kinds |= KEY_INT;
        return *kinds & KEY_NUMERIC_STR ? ENC_FALLBACK : write_int_object(b, key);
    }
    if (!Py_IS_TYPE(key, &PyUnicode_Type))
        return ENC_FALLBACK;  /* bytes, bool and other keys */
    const char *bytes;
    Py_ssize_t n;
    int rc = utf8_of(key, &bytes, &n);
    if (rc != ENC_OK)
        return rc;
    if (!is_canonical_int(bytes, n))
        return write_string(b, bytes, n);
    *kinds |= KEY_NUMERIC_STR;
    if (*kinds & KEY_INT)
        return ENC_FALLBACK;
    if (buf_reserve(b, n + 3) < 0)
        return ENC_ERROR;
    PUT_LITERAL(b, "i:");
    put(b, bytes, n);
    put_char(b, ';');
    return ENC_OK;
}

/* A property key is written as held: an int as i:, any str as s: (mangled names too). */
static int write_property_key(Buffer *b, PyObject *key)
{
    if (Py_IS_TYPE(key, &PyUnicode_Type))
        return write_str(b, key);
    if (Py_IS_TYPE(key, &PyLong_Type))
        return write_int_object(b, key);
    return ENC_FALLBACK;
}

/* -- containers ---------------------------------------------------------------------- */

/* How many more Python frames the Python encoder could push here. The thread's own count
 * is not public API (its name changed between versions), so this takes half the
 * recursion limit, leaving the other half to the caller: real callers are a few dozen
 * frames deep. Past that, a caller deeper still could see bytes here where the Python
 * encoder would have run out of stack, which is no error of the value. */
static int python_frames_left(void)
{
    return Py_GetRecursionLimit() / 2;
}

/* Whether this call has used more than STACK_BUDGET bytes of C stack (either way of
 * growth), judged by the address of a local here. */
static int stack_spent(const Encoder *e)
{
    char here;
    uintptr_t at = (uintptr_t)&here;
    return (at < e->stack_base ? e->stack_base - at : at - e->stack_base) > STACK_BUDGET;
}

/* The Python encoder raises "nesting deeper than max_depth" for a container at `level`
 * (the outermost is level 1) past max_depth; NESTING_CAP and STACK_BUDGET stop earlier
 * still. */
static int too_deep(const Encoder *e, int level)
{
    return level > e->max_depth || level > NESTING_CAP
           || (level > STACK_CHECK_FROM && stack_spent(e));
}

/* a:<n>:{i:0;<v0>i:1;<v1>...} */
static int encode_list(Encoder *e, PyObject *list, int level)
{
    Py_ssize_t n = PyList_GET_SIZE(list);
    int rc = write_array_open(&e->out, n);
    for (Py_ssize_t i = 0; i < n && rc == ENC_OK; i++) {
        rc = write_int(&e->out, i);
        if (rc == ENC_OK)
            rc = encode_value(e, PyList_GET_ITEM(list, i), level);
    }
    return rc != ENC_OK ? rc : write_literal(&e->out, "}", 1);
}

/* <key><value>... of a dict, as an array's entries or an object's properties. */
static int encode_entries(Encoder *e, PyObject *dict, int level, int properties)
{
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    int kinds = 0;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        int rc = properties ? write_property_key(&e->out, key)
                            : write_array_key(&e->out, key, &kinds);
        if (rc == ENC_OK)
            rc = encode_value(e, value, level);
        if (rc != ENC_OK)
            return rc;
    }
    return ENC_OK;
}

/* a:<n>:{<key><value>...} */
static int encode_dict(Encoder *e, PyObject *dict, int level)
{
    int rc = write_array_open(&e->out, PyDict_GET_SIZE(dict));
    if (rc == ENC_OK)
        rc = encode_entries(e, dict, level, 0);
    return rc != ENC_OK ? rc : write_literal(&e->out, "}", 1);
}

/* A new reference to an attribute of a PhpObject; NULL with ENC_FALLBACK in *rc when the
 * slot is empty (the Python encoder would fail on it) or not of the exact type needed. */
static PyObject *object_attribute(PyObject *obj, PyObject *name, PyTypeObject *type, int *rc)
{
    PyObject *attribute = PyObject_GetAttr(obj, name);
    if (attribute == NULL) {
        *rc = ENC_ERROR;
        if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Clear();
            *rc = ENC_FALLBACK;
        }
        return NULL;
    }
    if (!Py_IS_TYPE(attribute, type)) {
        Py_DECREF(attribute);
        *rc = ENC_FALLBACK;
        return NULL;
    }
    return attribute;
}

/* Remember a PhpObject as written; ENC_FALLBACK if it was already (Python writes r:). */
static int remember_object(ObjectSet *set, PyObject *obj)
{
    if (2 * (set->used + 1) > set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 16;
        PyObject **slots = PyMem_Calloc(cap, sizeof(PyObject *));
        if (slots == NULL) {
            PyErr_NoMemory();
            return ENC_ERROR;
        }
        for (size_t i = 0; i < set->cap; i++) {
            PyObject *old = set->slots[i];
            if (old != NULL) {
                size_t j = ((uintptr_t)old >> 4) & (cap - 1);
                while (slots[j] != NULL)
                    j = (j + 1) & (cap - 1);
                slots[j] = old;
            }
        }
        PyMem_Free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }
    size_t i = ((uintptr_t)obj >> 4) & (set->cap - 1);
    for (; set->slots[i] != NULL; i = (i + 1) & (set->cap - 1))
        if (set->slots[i] == obj)
            return ENC_FALLBACK;
    set->slots[i] = obj;
    set->used++;
    return ENC_OK;
}

/* O:<len>:"<class name>":<n>:{ */
static int write_object_open(Buffer *b, const char *name, Py_ssize_t len, Py_ssize_t n)
{
    if (buf_reserve(b, len + 2 * DECIMAL_MAX + 8) < 0)
        return ENC_ERROR;
    PUT_LITERAL(b, "O:");
    put_decimal(b, len);
    PUT_LITERAL(b, ":\"");
    put(b, name, len);
    PUT_LITERAL(b, "\":");
    put_decimal(b, n);
    PUT_LITERAL(b, ":{");
    return ENC_OK;
}

/* O:<len>:"<class name>":<n>:{<key><value>...} */
static int encode_object(Encoder *e, PyObject *obj, int level)
{
    int rc = remember_object(&e->objects, obj);
    if (rc != ENC_OK)
        return rc;
    PyObject *name = object_attribute(obj, str_class_name, &PyUnicode_Type, &rc);
    if (name == NULL)
        return rc;
    PyObject *props = object_attribute(obj, str_properties, &PyDict_Type, &rc);
    if (props == NULL) {
        Py_DECREF(name);
        return rc;
    }
    const char *bytes;
    Py_ssize_t n;
    rc = utf8_of(name, &bytes, &n);  /* surrogateescape names fall back */
    if (rc == ENC_OK)
        rc = write_object_open(&e->out, bytes, n, PyDict_GET_SIZE(props));
    if (rc == ENC_OK)
        rc = encode_entries(e, props, level, 1);
    if (rc == ENC_OK)
        rc = write_literal(&e->out, "}", 1);
    Py_DECREF(name);
    Py_DECREF(props);
    return rc;
}

/* A list, dict or PhpObject at nesting `level`, within the depth and frame budgets. */
static int encode_container(Encoder *e, PyObject *value, int level)
{
    int frames = Py_IS_TYPE(value, e->object_type) ? OBJECT_FRAMES : ARRAY_FRAMES;
    if (too_deep(e, level) || e->frames_left < frames)
        return ENC_FALLBACK;
    e->frames_left -= frames;
    int rc;
    if (PyList_CheckExact(value))
        rc = encode_list(e, value, level);
    else if (PyDict_CheckExact(value))
        rc = encode_dict(e, value, level);
    else
        rc = encode_object(e, value, level);
    e->frames_left += frames;
    return rc;
}

/* -- values -------------------------------------------------------------------------- */

/* Write `value`, which `level` containers enclose; most frequent types first. */
static int encode_value(Encoder *e, PyObject *value, int level)
{
    PyTypeObject *type = Py_TYPE(value);
    if (type == &PyUnicode_Type)
        return write_str(&e->out, value);
    if (type == &PyLong_Type)
        return write_int_object(&e->out, value);
    if (type == &PyDict_Type || type == &PyList_Type || type == e->object_type)
        return encode_container(e, value, level + 1);
    if (value == Py_None)
        return write_literal(&e->out, "N;", 2);
    if (type == &PyFloat_Type)
        return write_float(&e->out, PyFloat_AS_DOUBLE(value));
    if (type == &PyBool_Type)
        return write_literal(&e->out, value == Py_True ? "b:1;" : "b:0;", 4);
    if (type == &PyBytes_Type)
        return write_string(&e->out, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value));
    return ENC_FALLBACK;
}

PyDoc_STRVAR(encode_doc,
"encode($module, value, max_depth, object_type, /)\n"
"--\n"
"\n"
"PhpEncoder(max_depth=max_depth).encode(value) for plain values, or NotImplemented.\n"
"\n"
"Takes None, bool, int, float, str, bytes, list, dict and object_type (PhpObject)\n"
"instances, by exact type; returns NotImplemented for anything else and anything the\n"
"Python encoder rejects or writes specially (r: for a repeated object).");

static PyObject *encode(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "encode() takes exactly 3 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *value = args[0], *max_depth = args[1];
    if (!PyLong_Check(max_depth) || !PyType_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError,
                        "encode() takes (value, max_depth: int, object_type: type)");
        return NULL;
    }
    int overflow;
    long limit = PyLong_AsLongAndOverflow(max_depth, &overflow);
    if (overflow)
        limit = overflow > 0 ? LONG_MAX : LONG_MIN;
    else if (limit == -1 && PyErr_Occurred())
        return NULL;

    char stack_mark = 0;
    Encoder e = {
        .stack_base = (uintptr_t)&stack_mark,
        .object_type = (PyTypeObject *)args[2],
        .max_depth = limit,
        .frames_left = python_frames_left() - FRAME_MARGIN,
    };
    int rc = e.frames_left < 0 ? ENC_FALLBACK : encode_value(&e, value, 0);
    PyObject *result = NULL;
    if (rc == ENC_OK)
        result = PyBytes_FromStringAndSize(e.out.data, e.out.len);
    else if (rc == ENC_FALLBACK)
        result = Py_NewRef(Py_NotImplemented);
    PyMem_Free(e.out.data);
    PyMem_Free(e.objects.slots);
    return result;
}

static PyMethodDef methods[] = {
    {"encode", (PyCFunction)(void (*)(void))encode, METH_FASTCALL, encode_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "bridge.php._cencode",
    .m_doc = "C fast path of bridge.php.PhpEncoder for plain values.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__cencode(void)
{
    if (str_class_name == NULL)
        str_class_name = PyUnicode_InternFromString("class_name");
    if (str_properties == NULL)
        str_properties = PyUnicode_InternFromString("properties");
    if (str_class_name == NULL || str_properties == NULL)
        return NULL;
    return PyModule_Create(&module_def);
}
