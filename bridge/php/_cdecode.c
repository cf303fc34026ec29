/*
 * bridge.php._cdecode: a C fast path in front of the pure-Python PhpDecoder.
 *
 * decode(data, max_depth, max_length, allow_trailing, object_type) reads the subset of
 * PHP serialize() that real payloads are made of, N b i d s a O, walking the bytes by
 * pointer, and returns what PhpDecoder(max_depth=..., max_length=...,
 * allow_trailing=...).decode(data) returns for it: the same types, key types and order.
 *
 * Anything else it returns NotImplemented for, and the Python decoder does the work and
 * raises its exact error: the other tags (S E C r R), INF and NAN, duplicate keys, a limit
 * reached, and data that is malformed or cut short. So this file accepts at most what
 * the Python decoder accepts, and where that is unsure (deep nesting, odd float text) it
 * declines early. It raises only for wrong argument types and MemoryError.
 *
 * Convention: every reader returns NULL (or 0) to stop. Whether that means "fall back"
 * or "a real error" is told once, at the top, by PyErr_Occurred(): only real errors set
 * an exception, and the readers clear the ones that only mean "not valid here"
 * (UnicodeDecodeError, the ValueError of a float).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>
#include <stdint.h>
#include <string.h>

/*
 * The Python decoder recurses once per array level and twice per object level, and
 * answers a RecursionError with an error: nesting it cannot read, this file must not
 * read either. So containers nest here at most a quarter of the recursion limit deep
 * (half of it left to the caller's frames).
 *
 * This file's own recursion runs on the C stack of the calling thread, which may be as
 * small as 32 KiB (the least threading.stack_size() accepts), and it must never run off
 * it: a crash takes the whole worker down. Two bounds, each a fallback to the Python
 * decoder (whose frames live on the heap), not an error:
 * - NESTING_CAP containers: a few hundred bytes of stack per level in an optimized build
 *   keep 64 levels under 20 KiB. Real payloads nest a dozen deep at most.
 * - STACK_BUDGET bytes of C stack used since the call began, measured by the address of
 *   a local: it holds for builds whose frames are larger (no optimization, sanitizers).
 */
#define NESTING_CAP 64
#define STACK_BUDGET (16 * 1024)
/* Levels this shallow use a few KiB at most in any build: the stack is measured deeper. */
#define STACK_CHECK_FROM 16

/* Longest float text converted here; PHP writes at most 17 digits and an exponent. */
#define FLOAT_TEXT_MAX 64

/* The smallest array entry, "i:0;N;": a count that cannot fit is refused before any
 * allocation, as the Python decoder refuses it. */
#define MIN_ENTRY_SIZE 6

/* Distinct class names remembered per call, so repeated objects share one name str. */
#define CLASS_CACHE_SIZE 8

/* Slots of the per-call key cache (a power of two), and the longest key it holds. A
 * payload repeats its records' keys for every record, so one key object serves them
 * all. */
#define KEY_CACHE_SIZE 64
#define KEY_CACHE_MAX_SIZE 64

/* A str (or bytes) made from some bytes of the input, kept for the rest of the call. */
typedef struct {
    const char *bytes;
    Py_ssize_t size;
    PyObject *obj;      /* owned; NULL in an empty slot */
} Cached;

typedef struct {
    const char *p;      /* the next byte to read */
    const char *end;
    int max_nesting;    /* containers enclosed by this many containers fall back */
    long long max_length;
    PyObject *object_type;
    Cached classes[CLASS_CACHE_SIZE];
    int n_classes;
    Cached keys[KEY_CACHE_SIZE]; /* direct-mapped by a hash of the bytes */
    uintptr_t stack_base; /* the address of a local of decode(): where the stack began */
} Reader;

/* An array or property key as read: an int (obj NULL) or a str/bytes (obj owned). */
typedef struct {
    long long number;
    PyObject *obj;
} Key;

static PyObject *read_value(Reader *r, int nesting);

/* -- tokens ------------------------------------------------------------------------ */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Consume `text` (n bytes) if the input continues with it. */
static int expect(Reader *r, const char *text, size_t n)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, text, n) != 0)
        return 0;
    r->p += n;
    return 1;
}

/* Scan 1 to 19 decimal digits at p, leading zeros allowed: the Python decoder's grammar
 * for lengths, counts and int digits. Returns the end of the digits, or NULL if there are
 * none or more than 19 (which always fit in 64 unsigned bits). */
static const char *scan_digits(const char *p, const char *end, uint64_t *out)
{
    const char *start = p;
    uint64_t value = 0;
    while (p < end && is_digit(*p) && p - start < 19)
        value = value * 10 + (uint64_t)(*p++ - '0');
    if (p == start || (p < end && is_digit(*p)))
        return NULL;
    *out = value;
    return p;
}

static int read_digits(Reader *r, uint64_t *out)
{
    const char *after = scan_digits(r->p, r->end, out);
    if (after == NULL)
        return 0;
    r->p = after;
    return 1;
}

/* A length or count that max_length allows. */
static int within_max_length(const Reader *r, uint64_t size)
{
    return r->max_length >= 0 && size <= (uint64_t)r->max_length;
}

/* The int64 with this sign and magnitude, if there is one. */
static int to_int64(uint64_t magnitude, int negative, long long *out)
{
    if (magnitude > (uint64_t)INT64_MAX + (uint64_t)negative)
        return 0;
    /* -(2^63) has no positive twin: negate in unsigned arithmetic. */
    *out = negative ? (long long)(0 - magnitude) : (long long)magnitude;
    return 1;
}

/* The body of "i:<int>;" after the "i:": an optional sign and 1 to 19 digits (leading
 * zeros and "-0" included, as Python's int() reads them) within int64, then ";". */
static int read_int_body(Reader *r, long long *out)
{
    int negative = 0;
    uint64_t magnitude;
    if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
        negative = *r->p++ == '-';
    return read_digits(r, &magnitude) && expect(r, ";", 1)
           && to_int64(magnitude, negative, out);
}

/* "s:<n>:\"<n bytes>\";": point `bytes` at the n bytes. The Python decoder checks the
 * same: a length within max_length, the quote, and '";' right after the n bytes. */
static int read_string_token(Reader *r, const char **bytes, Py_ssize_t *size)
{
    uint64_t n;
    if (!expect(r, "s:", 2) || !read_digits(r, &n) || !within_max_length(r, n)
        || !expect(r, ":\"", 2) || n > (uint64_t)(r->end - r->p))
        return 0;
    *bytes = r->p;
    *size = (Py_ssize_t)n;
    r->p += n;
    return expect(r, "\";", 2);
}

/* A PHP string as the Python decoder returns it: str when strict UTF-8 decodes it,
 * else the bytes. */
static PyObject *text_or_bytes(const char *bytes, Py_ssize_t size)
{
    PyObject *text = PyUnicode_DecodeUTF8(bytes, size, NULL);
    if (text != NULL || !PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
        return text;
    PyErr_Clear();
    return PyBytes_FromStringAndSize(bytes, size);
}

/* Whether the bytes from p to end are Python float()'s grammar over "0123456789.eE+-",
 * the bytes the Python decoder hands to float(): an optional sign, digits with at most one
 * point and a digit on at least one side of it, and an optional exponent with digits. */
static int is_float_text(const char *p, const char *end)
{
    int digits = 0;
    if (p < end && (*p == '+' || *p == '-'))
        p++;
    for (; p < end && is_digit(*p); p++)
        digits++;
    if (p < end && *p == '.')
        for (p++; p < end && is_digit(*p); p++)
            digits++;
    if (digits == 0)
        return 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || !is_digit(*p))
            return 0;
        while (p < end && is_digit(*p))
            p++;
    }
    return p == end;
}

/* A plain decimal ("-12.5", "3", "0.001") of at most 15 digits, converted exactly: its
 * digits make an integer below 2^53 and 10^(digits after the point) is an exact double,
 * so one correctly rounded division gives the correctly rounded value, which is the
 * double float() gives (Clinger's fast path). Only where double arithmetic is done in
 * double precision; elsewhere every float takes the general conversion. */
static int plain_decimal(const char *p, const char *end, double *out)
{
    static const double powers_of_ten[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                           1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    int negative = 0, digits = 0, scale = 0;
    uint64_t mantissa = 0;

    if (FLT_EVAL_METHOD != 0)
        return 0;
    if (p < end && (*p == '+' || *p == '-'))
        negative = *p++ == '-';
    for (; p < end && is_digit(*p); p++, digits++)
        mantissa = mantissa * 10 + (uint64_t)(*p - '0');
    if (p < end && *p == '.')
        for (p++; p < end && is_digit(*p); p++, digits++, scale++)
            mantissa = mantissa * 10 + (uint64_t)(*p - '0');
    if (p != end || digits == 0 || digits > 15)
        return 0;
    *out = (double)mantissa / powers_of_ten[scale];
    if (negative)
        *out = -*out; /* "-0" is -0.0, as float() reads it */
    return 1;
}

/* "d:<float>;" with a finite decimal or exponent form. INF, NAN and -INF fall back.
 * PyOS_string_to_double is the conversion float() itself makes (correctly rounded,
 * locale-free, +-inf on overflow as float("1e400") gives), so the doubles are equal. */
static PyObject *read_float(Reader *r)
{
    char text[FLOAT_TEXT_MAX + 1];
    const char *start, *semi;
    size_t size;
    double value;

    if (!expect(r, "d:", 2))
        return NULL;
    start = r->p;
    semi = memchr(start, ';', (size_t)(r->end - start));
    if (semi == NULL)
        return NULL;
    if (!plain_decimal(start, semi, &value)) {
        size = (size_t)(semi - start);
        if (size > FLOAT_TEXT_MAX || !is_float_text(start, semi))
            return NULL;
        memcpy(text, start, size);
        text[size] = '\0';
        value = PyOS_string_to_double(text, NULL, NULL);
        if (value == -1.0 && PyErr_Occurred()) {
            if (PyErr_ExceptionMatches(PyExc_ValueError))
                PyErr_Clear();
            return NULL;
        }
    }
    r->p = semi + 1;
    return PyFloat_FromDouble(value);
}

/* -- keys -------------------------------------------------------------------------- */

/* The int PHP stores for the array key string `bytes`, as _types.canonical_int reads
 * it: "0", or an optional "-", a digit 1-9 and at most 18 more digits, within int64. */
static int canonical_int(const char *bytes, Py_ssize_t size, long long *out)
{
    const char *end = bytes + size;
    int negative;
    uint64_t magnitude;

    if (size == 0 || !(is_digit(bytes[0]) || bytes[0] == '-'))
        return 0; /* most keys: a name */
    if (size == 1 && bytes[0] == '0') {
        *out = 0;
        return 1;
    }
    negative = bytes[0] == '-';
    bytes += negative;
    return bytes < end && *bytes != '0' && scan_digits(bytes, end, &magnitude) == end
           && to_int64(magnitude, negative, out);
}

/* A key's str (or bytes), from the call's key cache when these bytes were seen. */
static PyObject *key_text(Reader *r, const char *bytes, Py_ssize_t size)
{
    uint32_t hash = 2166136261u; /* FNV-1a */
    Cached *slot;
    PyObject *obj;

    if (size > KEY_CACHE_MAX_SIZE)
        return text_or_bytes(bytes, size);
    for (Py_ssize_t i = 0; i < size; i++)
        hash = (hash ^ (unsigned char)bytes[i]) * 16777619u;
    slot = &r->keys[hash & (KEY_CACHE_SIZE - 1)];
    if (slot->obj != NULL && slot->size == size && memcmp(slot->bytes, bytes, (size_t)size) == 0)
        return Py_NewRef(slot->obj);
    obj = text_or_bytes(bytes, size);
    if (obj != NULL) {
        Py_XSETREF(slot->obj, Py_NewRef(obj));
        slot->bytes = bytes;
        slot->size = size;
    }
    return obj;
}

/* An entry's key: "i:<int>;" or "s:<n>:\"...\";". Array keys that are canonical int
 * decimals become ints, as PHP stores them; property keys stay as written. */
static int read_key(Reader *r, int in_array, Key *key)
{
    const char *bytes;
    Py_ssize_t size;

    key->obj = NULL;
    if (r->p < r->end && *r->p == 'i')
        return expect(r, "i:", 2) && read_int_body(r, &key->number);
    if (!read_string_token(r, &bytes, &size))
        return 0;
    if (in_array && canonical_int(bytes, size, &key->number))
        return 1;
    key->obj = key_text(r, bytes, size);
    return key->obj != NULL;
}

/* The key as a new reference (the Key gives up its object). */
static PyObject *key_object(Key *key)
{
    PyObject *obj = key->obj;
    key->obj = NULL;
    return obj != NULL ? obj : PyLong_FromLongLong(key->number);
}

/* Read one value and store it in `dict` under `key`. */
static int read_into_dict(Reader *r, PyObject *dict, Key *key, int nesting)
{
    PyObject *k = key_object(key);
    PyObject *value;
    int ok;
    if (k == NULL)
        return 0;
    value = read_value(r, nesting);
    ok = value != NULL && PyDict_SetItem(dict, k, value) == 0;
    Py_DECREF(k);
    Py_XDECREF(value);
    return ok;
}

/* -- containers -------------------------------------------------------------------- */

/* Whether this call has used more than STACK_BUDGET bytes of C stack (either way of
 * growth), judged by the address of a local here. */
static int stack_spent(const Reader *r)
{
    char here;
    uintptr_t at = (uintptr_t)&here;
    return (at < r->stack_base ? r->stack_base - at : at - r->stack_base) > STACK_BUDGET;
}

/* "<count>:{" after a container's tag: a count max_length allows and the remaining
 * bytes can hold, nested no deeper than allowed. */
static int read_count(Reader *r, int nesting, Py_ssize_t *count)
{
    uint64_t n;
    if (!read_digits(r, &n) || !within_max_length(r, n) || !expect(r, ":{", 2)
        || nesting >= r->max_nesting || n > (uint64_t)(r->end - r->p) / MIN_ENTRY_SIZE
        || (nesting > STACK_CHECK_FROM && stack_spent(r)))
        return 0;
    *count = (Py_ssize_t)n;
    return 1;
}

/* The `idx` items of a list that turned out to be an array with other keys, as a dict
 * keyed 0..idx-1. Steals `list`. */
static PyObject *list_to_dict(PyObject *list, Py_ssize_t idx)
{
    PyObject *dict = PyDict_New();
    for (Py_ssize_t i = 0; dict != NULL && i < idx; i++) {
        PyObject *k = PyLong_FromSsize_t(i);
        if (k == NULL || PyDict_SetItem(dict, k, PyList_GET_ITEM(list, i)) < 0)
            Py_CLEAR(dict);
        Py_XDECREF(k);
    }
    Py_DECREF(list);
    return dict;
}

/* "a:<n>:{...}": a list while the keys run 0, 1, 2... in order (so "a:0:{}" is []),
 * else a dict in the written order. Duplicate keys fall back. */
static PyObject *read_array(Reader *r, int nesting)
{
    Py_ssize_t count;
    PyObject *list, *dict = NULL;
    Key key = {0, NULL};

    if (!expect(r, "a:", 2) || !read_count(r, nesting, &count))
        return NULL;
    /* Every slot is filled before the list is returned; a list dropped half-filled
     * releases only the items it holds. */
    list = PyList_New(count);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t idx = 0; idx < count; idx++) {
        if (!read_key(r, 1, &key))
            goto fail;
        if (list != NULL && key.obj == NULL && key.number == idx) {
            PyObject *value = read_value(r, nesting + 1);
            if (value == NULL)
                goto fail;
            PyList_SET_ITEM(list, idx, value);
            continue;
        }
        if (list != NULL) {
            dict = list_to_dict(list, idx);
            list = NULL;
            if (dict == NULL)
                goto fail;
        }
        if (!read_into_dict(r, dict, &key, nesting + 1))
            goto fail;
    }
    if (!expect(r, "}", 1) || (dict != NULL && PyDict_GET_SIZE(dict) != count))
        goto fail;
    return list != NULL ? list : dict;

fail:
    Py_XDECREF(key.obj); /* a str key read when the list could not become a dict */
    Py_XDECREF(list);
    Py_XDECREF(dict);
    return NULL;
}

/* Whether PHP (and so the Python decoder) accepts `bytes` as a class name:
 * [A-Za-z0-9_\\\x80-\xff]+. */
static int is_class_name(const char *bytes, Py_ssize_t size)
{
    if (size == 0)
        return 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)bytes[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit((char)c)
              || c == '_' || c == '\\' || c >= 0x80))
            return 0;
    }
    return 1;
}

/* The class name as a str (a new reference). The Python decoder decodes it with
 * surrogateescape, so a name that is not UTF-8 is still a str. The first few distinct
 * names are kept for the call: a payload repeats a handful of classes many times. */
static PyObject *class_name(Reader *r, const char *bytes, Py_ssize_t size)
{
    PyObject *name;
    for (int i = 0; i < r->n_classes; i++) {
        Cached *known = &r->classes[i];
        if (known->size == size && memcmp(known->bytes, bytes, (size_t)size) == 0)
            return Py_NewRef(known->obj);
    }
    name = PyUnicode_DecodeUTF8(bytes, size, "surrogateescape");
    if (name != NULL && r->n_classes < CLASS_CACHE_SIZE)
        r->classes[r->n_classes++] = (Cached){bytes, size, Py_NewRef(name)};
    return name;
}

/* "O:<n>:\"Class\":<count>:{...}": object_type(class name, properties), the properties
 * keyed as written (str, bytes for non-UTF-8, int for i: keys). Duplicates fall back. */
static PyObject *read_object(Reader *r, int nesting)
{
    const char *bytes;
    Py_ssize_t size, count;
    uint64_t n;
    PyObject *props, *name, *args[2], *obj = NULL;
    Key key;

    if (!expect(r, "O:", 2) || !read_digits(r, &n) || !within_max_length(r, n)
        || !expect(r, ":\"", 2) || n > (uint64_t)(r->end - r->p))
        return NULL;
    bytes = r->p;
    size = (Py_ssize_t)n;
    r->p += size;
    if (!is_class_name(bytes, size) || !expect(r, "\":", 2) || !read_count(r, nesting, &count))
        return NULL;
    props = PyDict_New();
    if (props == NULL)
        return NULL;
    for (Py_ssize_t idx = 0; idx < count; idx++)
        if (!read_key(r, 0, &key) || !read_into_dict(r, props, &key, nesting + 1))
            goto done;
    if (!expect(r, "}", 1) || PyDict_GET_SIZE(props) != count)
        goto done;
    name = class_name(r, bytes, size);
    if (name == NULL)
        goto done;
    args[0] = name;
    args[1] = props;
    obj = PyObject_Vectorcall(r->object_type, args, 2, NULL);
    Py_DECREF(name);
done:
    Py_DECREF(props);
    return obj;
}

/* -- values ------------------------------------------------------------------------ */

/* One value at r->p, `nesting` containers deep. */
static PyObject *read_value(Reader *r, int nesting)
{
    const char *bytes;
    Py_ssize_t size;
    long long number;

    if (r->p >= r->end)
        return NULL;
    switch (*r->p) {
    case 'N':
        if (!expect(r, "N;", 2))
            return NULL;
        Py_RETURN_NONE;
    case 'b':
        if (expect(r, "b:0;", 4))
            Py_RETURN_FALSE;
        if (expect(r, "b:1;", 4))
            Py_RETURN_TRUE;
        return NULL;
    case 'i':
        if (!expect(r, "i:", 2) || !read_int_body(r, &number))
            return NULL;
        return PyLong_FromLongLong(number);
    case 'd':
        return read_float(r);
    case 's':
        if (!read_string_token(r, &bytes, &size))
            return NULL;
        return text_or_bytes(bytes, size);
    case 'a':
        return read_array(r, nesting);
    case 'O':
        return read_object(r, nesting);
    default: /* S E C r R, or not a tag: the Python decoder's business */
        return NULL;
    }
}

/* -- the module -------------------------------------------------------------------- */

/* An int argument as a long long, saturated: a limit past 2^63 limits nothing here. */
static int limit_arg(PyObject *arg, long long *out)
{
    int overflow;
    long long value = PyLong_AsLongLongAndOverflow(arg, &overflow);
    if (value == -1 && PyErr_Occurred())
        return 0;
    *out = overflow > 0 ? LLONG_MAX : overflow < 0 ? LLONG_MIN : value;
    return 1;
}

PyDoc_STRVAR(decode_doc,
"decode(data, max_depth, max_length, allow_trailing, object_type, /)\n--\n\n"
"Decode PHP serialize() bytes made of N b i d s a O, as PhpDecoder(max_depth=...,\n"
"max_length=..., allow_trailing=...).decode(data) would; objects are built as\n"
"object_type(class_name, properties). Returns NotImplemented for anything else\n"
"(other tags, INF/NAN, duplicate keys, limits, malformed data): run the Python\n"
"decoder then, for the value or its exact error.");

static PyObject *decode(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Reader r = {0};
    char stack_mark = 0;
    long long max_depth;
    int allow_trailing, cap;
    PyObject *value = NULL;

    (void)module;
    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError, "decode() takes 5 arguments (%zd given)", nargs);
        return NULL;
    }
    if (!PyBytes_Check(args[0])) {
        PyErr_Format(PyExc_TypeError, "decode() needs bytes, not %.100s",
                     Py_TYPE(args[0])->tp_name);
        return NULL;
    }
    if (!PyType_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "decode() needs a type as object_type");
        return NULL;
    }
    if (!limit_arg(args[1], &max_depth) || !limit_arg(args[2], &r.max_length))
        return NULL;
    allow_trailing = PyObject_IsTrue(args[3]);
    if (allow_trailing < 0)
        return NULL;

    cap = Py_GetRecursionLimit() / 4;
    if (cap > NESTING_CAP)
        cap = NESTING_CAP;
    r.max_nesting = max_depth < cap ? (int)(max_depth < 0 ? 0 : max_depth) : cap;
    r.stack_base = (uintptr_t)&stack_mark;
    r.p = PyBytes_AS_STRING(args[0]);
    r.end = r.p + PyBytes_GET_SIZE(args[0]);
    r.object_type = args[4];

    value = read_value(&r, 0);
    if (value != NULL && r.p != r.end && !allow_trailing)
        Py_CLEAR(value);
    for (int i = 0; i < r.n_classes; i++)
        Py_DECREF(r.classes[i].obj);
    for (int i = 0; i < KEY_CACHE_SIZE; i++)
        Py_XDECREF(r.keys[i].obj);
    if (value == NULL && !PyErr_Occurred())
        Py_RETURN_NOTIMPLEMENTED;
    return value;
}

static PyMethodDef methods[] = {
    {"decode", (PyCFunction)(void (*)(void))decode, METH_FASTCALL, decode_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "bridge.php._cdecode",
    .m_doc = "A C fast path for the common subset of PhpDecoder (see decode).",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__cdecode(void)
{
    return PyModuleDef_Init(&module_def);
}
