/* bot.matching._speedups: the matcher's hot loops in C.
 *
 * Each function here has a pure-Python reference (named in its docstring, in bot/matching/text.py or
 * engine.py) and must give identical results for every input; tests/matching/test_speedups.py and
 * test_speedups_hits.py compare them. In text order: the tokenizer and the word-position index; phrase and
 * plain-word spans; the splicing of an article's hits into the precomputed default answers and the whole
 * per-section answer (section_hits); Korean keys; normalising, keying and resolving new word forms.
 *
 * tokenize(text) returns the four arguments ``bot.matching.text._tokenize_py`` passes to ``Tokens``, and
 * positions(resolved) returns the dict ``bot.matching.text._positions_py`` builds. Every character class
 * below is the one the Python regular expressions use:
 *
 *   word        [^\W_]+(?:['’][^\W_]+)*     [^\W_] is Py_UNICODE_ISALNUM, exactly as in the re module
 *   soft gap    [ \t\u00a0\-\u2010-\u2015\u2212/\u00b7\u30fb\u318d\u2027&+]*   (the whole gap)
 *   line break  "\n" anywhere in the gap                                        (break kind 2)
 *   sentence    [.!?。！？…]["'”’»)\]]*\s somewhere in the gap, \s = Py_UNICODE_ISSPACE   (break kind 1)
 *
 * A sentence ends at a line break, or at a sentence end whose preceding word is longer than two code
 * points ("U.S. and Russia" stays one sentence).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Py_UNICODE_ISALNUM of every BMP character, one bit each, filled at module execution from that macro
 * (the one the re module uses); characters above the BMP ask the macro itself. */
static unsigned char bmp_alnum[0x10000 / 8];

static inline int
is_alnum(Py_UCS4 ch)
{
    return ch < 0x10000 ? (bmp_alnum[ch >> 3] >> (ch & 7)) & 1 : Py_UNICODE_ISALNUM(ch);
}

static inline int
is_apostrophe(Py_UCS4 ch)
{
    return ch == '\'' || ch == 0x2019;
}

static inline int
is_soft_char(Py_UCS4 ch)
{
    switch (ch) {
    case ' ': case '\t': case 0x00A0: case '-': case 0x2212: case '/': case 0x00B7: case 0x30FB:
    case 0x318D: case 0x2027: case '&': case '+':
        return 1;
    default:
        return ch >= 0x2010 && ch <= 0x2015;
    }
}

static inline int
is_sentence_end_char(Py_UCS4 ch)
{
    switch (ch) {
    case '.': case '!': case '?': case 0x3002: case 0xFF01: case 0xFF1F: case 0x2026:
        return 1;
    default:
        return 0;
    }
}

static inline int
is_closer(Py_UCS4 ch)
{
    switch (ch) {
    case '"': case '\'': case 0x201D: case 0x2019: case 0x00BB: case ')': case ']':
        return 1;
    default:
        return 0;
    }
}

/* Start and end offsets of every word, appended pairwise to a growable array. */
typedef struct {
    Py_ssize_t *at;
    Py_ssize_t len;
    Py_ssize_t cap;
} Spans;

static int
spans_push(Spans *s, Py_ssize_t start, Py_ssize_t end)
{
    if (s->len + 2 > s->cap) {
        Py_ssize_t cap = s->cap ? s->cap : 256;
        while (cap < s->len + 2) {
            if (cap > PY_SSIZE_T_MAX / 2 / (Py_ssize_t)sizeof(Py_ssize_t)) {
                PyErr_NoMemory();
                return -1;
            }
            cap *= 2;
        }
        Py_ssize_t *at = PyMem_Realloc(s->at, (size_t)cap * sizeof(Py_ssize_t));
        if (at == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        s->at = at;
        s->cap = cap;
    }
    s->at[s->len++] = start;
    s->at[s->len++] = end;
    return 0;
}

static int
find_words(int kind, const void *data, Py_ssize_t n, Spans *out)
{
    Py_ssize_t i = 0;
    while (i < n) {
        if (!is_alnum(PyUnicode_READ(kind, data, i))) {
            i++;
            continue;
        }
        Py_ssize_t start = i++;
        while (i < n && is_alnum(PyUnicode_READ(kind, data, i))) {
            i++;
        }
        /* (?:['’][^\W_]+)*: nothing follows in the pattern, so the greedy match never backtracks. */
        while (i + 1 < n && is_apostrophe(PyUnicode_READ(kind, data, i))
               && is_alnum(PyUnicode_READ(kind, data, i + 1))) {
            i += 2;
            while (i < n && is_alnum(PyUnicode_READ(kind, data, i))) {
                i++;
            }
        }
        if (spans_push(out, start, i) < 0) {
            return -1;
        }
        /* text[i] (if any) is not part of a word: the next word starts after it. */
        i++;
    }
    return 0;
}

/* The gap text[a:b] between two words: *soft = only soft separators; return the break kind
 * (2: line break, 1: sentence end, 0: none). */
static int
classify_gap(int kind, const void *data, Py_ssize_t a, Py_ssize_t b, int *soft)
{
    int all_soft = 1, sentence_end = 0;
    for (Py_ssize_t p = a; p < b; p++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, p);
        if (all_soft && !is_soft_char(ch)) {
            all_soft = 0;
        }
        if (ch == '\n') {
            *soft = 0;  /* "\n" is not a soft separator */
            return 2;
        }
        if (!sentence_end && is_sentence_end_char(ch)) {
            /* Closers and whitespace are disjoint, so skipping every closer loses no match. */
            Py_ssize_t q = p + 1;
            while (q < b && is_closer(PyUnicode_READ(kind, data, q))) {
                q++;
            }
            if (q < b && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, q))) {
                sentence_end = 1;
            }
        }
    }
    *soft = all_soft;
    return sentence_end;
}

PyDoc_STRVAR(tokenize_doc,
"tokenize($module, text, /)\n--\n\n"
"The words of text as (raw, soft, sentence, bounds): the arguments of bot.matching.text.Tokens,\n"
"identical to those bot.matching.text._tokenize_py builds.");

static PyObject *
speedups_tokenize(PyObject *module, PyObject *text)
{
    (void)module;
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "tokenize() argument must be str, not %.200s", Py_TYPE(text)->tp_name);
        return NULL;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) {
        return NULL;
    }
#endif
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);

    Spans spans = {NULL, 0, 0};
    PyObject *raw = NULL, *soft = NULL, *sentence = NULL, *bounds = NULL, *result = NULL;
    PyObject *sentence_no = NULL;  /* the current sentence number, shared by its words */

    if (find_words(kind, data, n, &spans) < 0) {
        goto done;
    }
    Py_ssize_t words = spans.len / 2;

    raw = PyTuple_New(words);
    soft = PyTuple_New(words);
    sentence = PyTuple_New(words);
    bounds = PyList_New(words ? 2 * words + 1 : 0);
    if (raw == NULL || soft == NULL || sentence == NULL || bounds == NULL) {
        goto done;
    }
    if (words) {
        sentence_no = PyLong_FromLong(0);
        if (sentence_no == NULL) {
            goto done;
        }
    }
    Py_ssize_t number = 0;
    for (Py_ssize_t i = 0; i < words; i++) {
        Py_ssize_t start = spans.at[2 * i], end = spans.at[2 * i + 1];
        PyObject *word = PyUnicode_Substring(text, start, end);
        if (word == NULL) {
            goto done;
        }
        PyTuple_SET_ITEM(raw, i, word);

        int is_soft = 0;
        if (i > 0) {
            Py_ssize_t prev_start = spans.at[2 * i - 2], prev_end = spans.at[2 * i - 1];
            int brk = classify_gap(kind, data, prev_end, start, &is_soft);
            if (brk == 2 || (brk == 1 && prev_end - prev_start > 2)) {
                PyObject *next = PyLong_FromSsize_t(++number);
                if (next == NULL) {
                    goto done;
                }
                Py_SETREF(sentence_no, next);
            }
        }
        PyObject *flag = is_soft ? Py_True : Py_False;
        Py_INCREF(flag);
        PyTuple_SET_ITEM(soft, i, flag);
        Py_INCREF(sentence_no);
        PyTuple_SET_ITEM(sentence, i, sentence_no);

        PyObject *s = PyLong_FromSsize_t(start);
        if (s == NULL) {
            goto done;
        }
        PyList_SET_ITEM(bounds, 2 * i, s);
        PyObject *e = PyLong_FromSsize_t(end);
        if (e == NULL) {
            goto done;
        }
        PyList_SET_ITEM(bounds, 2 * i + 1, e);
    }
    if (words) {
        PyObject *last = PyLong_FromSsize_t(n);
        if (last == NULL) {
            goto done;
        }
        PyList_SET_ITEM(bounds, 2 * words, last);
    }
    result = PyTuple_Pack(4, raw, soft, sentence, bounds);

done:
    /* Unfilled slots are NULL, which tuple and list deallocation skip. */
    Py_XDECREF(sentence_no);
    Py_XDECREF(raw);
    Py_XDECREF(soft);
    Py_XDECREF(sentence);
    Py_XDECREF(bounds);
    PyMem_Free(spans.at);
    return result;
}

PyDoc_STRVAR(positions_doc,
"positions($module, resolved, /)\n--\n\n"
"{atom: [word indices]} for resolved[i] = the atoms of word i (a tuple, or None): each index i whose\n"
"entry is non-empty is appended to the list of each of its atoms, atoms in order of first appearance.\n"
"Identical to bot.matching.text._positions_py.");

static int
append_index(PyObject *pos, PyObject *atom, PyObject *index)
{
    PyObject *at = PyDict_GetItemWithError(pos, atom);  /* borrowed */
    if (at != NULL) {
        Py_INCREF(at);  /* hashing or comparing a key may run Python code */
        int rc = PyList_Append(at, index);
        Py_DECREF(at);
        return rc;
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    PyObject *fresh = PyList_New(1);
    if (fresh == NULL) {
        return -1;
    }
    Py_INCREF(index);
    PyList_SET_ITEM(fresh, 0, index);
    int rc = PyDict_SetItem(pos, atom, fresh);
    Py_DECREF(fresh);
    return rc;
}

static PyObject *
speedups_positions(PyObject *module, PyObject *resolved)
{
    (void)module;
    PyObject *seq = PySequence_Fast(resolved, "positions() argument must be iterable");
    if (seq == NULL) {
        return NULL;
    }
    PyObject *pos = PyDict_New();
    if (pos == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    /* The size is read on every step, as a list iterator does: a key's __eq__ could resize a list. */
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *found = PySequence_Fast_GET_ITEM(seq, i);
        if (found == Py_None) {
            continue;
        }
        Py_INCREF(found);
        PyObject *atoms;
        if (PyTuple_CheckExact(found)) {
            if (PyTuple_GET_SIZE(found) == 0) {
                Py_DECREF(found);
                continue;
            }
            atoms = found;  /* takes over the reference */
        }
        else {
            int truth = PyObject_IsTrue(found);
            if (truth <= 0) {
                Py_DECREF(found);
                if (truth < 0) {
                    goto error;
                }
                continue;
            }
            atoms = PySequence_Fast(found, "positions() entries must be iterable");
            Py_DECREF(found);
            if (atoms == NULL) {
                goto error;
            }
        }
        PyObject *index = PyLong_FromSsize_t(i);
        if (index == NULL) {
            Py_DECREF(atoms);
            goto error;
        }
        for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(atoms); k++) {
            PyObject *atom = PySequence_Fast_GET_ITEM(atoms, k);
            Py_INCREF(atom);
            int rc = append_index(pos, atom, index);
            Py_DECREF(atom);
            if (rc < 0) {
                Py_DECREF(index);
                Py_DECREF(atoms);
                goto error;
            }
        }
        Py_DECREF(index);
        Py_DECREF(atoms);
    }
    Py_DECREF(seq);
    return pos;

error:
    Py_DECREF(seq);
    Py_DECREF(pos);
    return NULL;
}

PyDoc_STRVAR(lookup_positions_doc,
"lookup_positions(raw, cache, resolve, /)\n--\n\n"
"``positions`` of the atoms of each word of ``raw`` (a tuple of str): ``cache[word]``, and for the words\n"
"missing from ``cache`` (or None there) the results of one call ``resolve(forms)``, ``forms`` being those\n"
"words once each in order of first appearance. Identical to ``engine._lookup_positions_py``.");

static PyObject *
speedups_lookup_positions(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyTuple_Check(args[0]) || !PyDict_Check(args[1]) || !PyCallable_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "lookup_positions() expects (tuple, dict, callable)");
        return NULL;
    }
    PyObject *raw = args[0], *cache = args[1];
    Py_ssize_t n = PyTuple_GET_SIZE(raw);
    PyObject *resolved = PyList_New(n), *missing = NULL, *forms = NULL, *got = NULL, *pos = NULL;
    char *absent = PyMem_Calloc(n ? (size_t)n : 1, 1);  /* absent[i]: word i was not in the cache */
    if (resolved == NULL || absent == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_INCREF(Py_None);
        PyList_SET_ITEM(resolved, i, Py_None);
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *word = PyTuple_GET_ITEM(raw, i);
        PyObject *found = PyDict_GetItemWithError(cache, word);  /* borrowed */
        if (found != NULL && found != Py_None) {
            Py_INCREF(found);
            PyList_SetItem(resolved, i, found);  /* i < n: cannot fail; drops the placeholder */
            continue;
        }
        if (PyErr_Occurred() || (missing == NULL && (missing = PyDict_New()) == NULL)
            || PyDict_SetDefault(missing, word, Py_None) == NULL) {
            goto done;
        }
        absent[i] = 1;
    }
    if (missing != NULL) {
        forms = PyDict_Keys(missing);
        got = forms == NULL ? NULL : PyObject_CallOneArg(args[2], forms);
        if (got == NULL) {
            goto done;
        }
        if (!PyList_Check(got) || PyList_GET_SIZE(got) != PyList_GET_SIZE(forms)) {
            PyErr_SetString(PyExc_ValueError, "lookup_positions(): resolve must return a list with one entry per form");
            goto done;
        }
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(forms); j++) {
            if (PyDict_SetItem(missing, PyList_GET_ITEM(forms, j), PyList_GET_ITEM(got, j)) < 0) {
                goto done;
            }
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            if (absent[i]) {
                PyObject *found = PyDict_GetItemWithError(missing, PyTuple_GET_ITEM(raw, i));
                if (found == NULL) {
                    if (!PyErr_Occurred()) {
                        PyErr_SetObject(PyExc_KeyError, PyTuple_GET_ITEM(raw, i));
                    }
                    goto done;
                }
                Py_INCREF(found);
                PyList_SetItem(resolved, i, found);
            }
        }
    }
    pos = speedups_positions(module, resolved);

done:
    PyMem_Free(absent);
    Py_XDECREF(resolved);
    Py_XDECREF(missing);
    Py_XDECREF(forms);
    Py_XDECREF(got);
    return pos;
}

/* ------------------------------------------------------------------------------------------------
 * point_spans: the positions of plain words as spans (see engine.py, _point_spans_py)
 * ------------------------------------------------------------------------------------------------ */

PyDoc_STRVAR(point_spans_doc,
"point_spans(pos, atoms, max_spans, /)\n--\n\n"
"``[(p, p)]`` for the first ``max_spans`` positions ``p`` in ``pos[a]`` of each atom ``a`` of the iterable\n"
"``atoms``, in its order (KeyError for an atom not in ``pos``). Identical to ``engine._point_spans_py``.");

static PyObject *
speedups_point_spans(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !PyDict_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "point_spans() expects (dict, iterable, int)");
        return NULL;
    }
    Py_ssize_t max_spans = PyLong_AsSsize_t(args[2]);
    if (max_spans == -1 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *it = PyObject_GetIter(args[1]);
    PyObject *out = it == NULL ? NULL : PyList_New(0);
    if (out == NULL) {
        Py_XDECREF(it);
        return NULL;
    }
    PyObject *atom;
    while ((atom = PyIter_Next(it)) != NULL) {
        PyObject *ps = PyDict_GetItemWithError(args[0], atom);  /* borrowed */
        if (ps == NULL || !PyList_Check(ps)) {
            if (!PyErr_Occurred()) {
                PyErr_SetObject(ps == NULL ? PyExc_KeyError : PyExc_TypeError, atom);
            }
            Py_DECREF(atom);
            goto error;
        }
        Py_DECREF(atom);
        for (Py_ssize_t k = 0; k < max_spans && k < PyList_GET_SIZE(ps); k++) {
            PyObject *p = PyList_GET_ITEM(ps, k);
            PyObject *span = PyTuple_Pack(2, p, p);
            if (span == NULL || PyList_Append(out, span) < 0) {
                Py_XDECREF(span);
                goto error;
            }
            Py_DECREF(span);
        }
    }
    if (PyErr_Occurred()) {
        goto error;
    }
    Py_DECREF(it);
    return out;

error:
    Py_DECREF(it);
    Py_DECREF(out);
    return NULL;
}

/* ------------------------------------------------------------------------------------------------
 * phrase_spans: where a phrase's words follow each other (see engine.py, _phrase_spans_py)
 * ------------------------------------------------------------------------------------------------ */

PyDoc_STRVAR(phrase_spans_doc,
"phrase_spans(pos, first, rest, soft, limit, max_spans, /)\n--\n\n"
"``[(p, p + len(rest))]`` for each of the first ``max_spans`` positions ``p`` of atom ``first`` in ``pos``\n"
"where atom ``rest[i - 1]`` is at ``p + i`` and ``soft[p + i]`` is true for each i, stopping at the first\n"
"``p`` whose last word would be at ``limit`` or beyond. Position lists ascend (``positions`` builds\n"
"them so). Identical to ``engine._phrase_spans_py``.");

#define PHRASE_MAX_WORDS 64

static PyObject *
speedups_phrase_spans(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 6 || !PyDict_Check(args[0]) || !PyTuple_Check(args[2]) || !PyTuple_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "phrase_spans() expects (dict, int, tuple, tuple, int, int)");
        return NULL;
    }
    PyObject *pos = args[0], *rest = args[2], *soft = args[3];
    Py_ssize_t limit = PyLong_AsSsize_t(args[4]), max_spans = PyLong_AsSsize_t(args[5]);
    if ((limit == -1 || max_spans == -1) && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t width = PyTuple_GET_SIZE(rest);
    if (width > PHRASE_MAX_WORDS) {
        PyErr_SetString(PyExc_ValueError, "phrase_spans(): too many words in the phrase");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        return NULL;
    }
    PyObject *starts = PyDict_GetItemWithError(pos, args[1]);  /* borrowed */
    if (starts == NULL || !PyList_Check(starts) || PyList_GET_SIZE(starts) == 0) {
        if (PyErr_Occurred()) {
            Py_DECREF(out);
            return NULL;
        }
        return out;
    }
    PyObject *lists[PHRASE_MAX_WORDS];
    Py_ssize_t at[PHRASE_MAX_WORDS];
    for (Py_ssize_t i = 0; i < width; i++) {
        lists[i] = PyDict_GetItemWithError(pos, PyTuple_GET_ITEM(rest, i));
        at[i] = 0;
        if (lists[i] == NULL || !PyList_Check(lists[i])) {
            if (PyErr_Occurred()) {
                Py_DECREF(out);
                return NULL;
            }
            return out;  /* a word of the phrase is absent */
        }
    }
    Py_ssize_t n_starts = PyList_GET_SIZE(starts) < max_spans ? PyList_GET_SIZE(starts) : max_spans;
    for (Py_ssize_t k = 0; k < n_starts && k < PyList_GET_SIZE(starts); k++) {
        Py_ssize_t p = PyLong_AsSsize_t(PyList_GET_ITEM(starts, k));
        if (p == -1 && PyErr_Occurred()) {
            goto error;
        }
        if (p + width >= limit) {
            break;
        }
        int ok = 1;
        for (Py_ssize_t i = 0; ok && i < width; i++) {
            PyObject *list = lists[i];
            Py_ssize_t target = p + i + 1, q = -1;
            while (at[i] < PyList_GET_SIZE(list)) {
                q = PyLong_AsSsize_t(PyList_GET_ITEM(list, at[i]));
                if (q == -1 && PyErr_Occurred()) {
                    goto error;
                }
                if (q >= target) {
                    break;
                }
                at[i]++;
            }
            if (at[i] >= PyList_GET_SIZE(list) || q != target) {
                ok = 0;
                break;
            }
            if (target < 0 || target >= PyTuple_GET_SIZE(soft)) {
                PyErr_SetString(PyExc_IndexError, "phrase_spans(): soft is shorter than the positions");
                goto error;
            }
            ok = PyObject_IsTrue(PyTuple_GET_ITEM(soft, target));
            if (ok < 0) {
                goto error;
            }
        }
        if (ok) {
            PyObject *span = Py_BuildValue("(nn)", p, p + width);
            if (span == NULL || PyList_Append(out, span) < 0) {
                Py_XDECREF(span);
                goto error;
            }
            Py_DECREF(span);
        }
    }
    return out;

error:
    Py_DECREF(out);
    return NULL;
}

/* ------------------------------------------------------------------------------------------------
 * splice: the engine's answer for one section (see engine.py, _Section.hits and _splice_py)
 * ------------------------------------------------------------------------------------------------ */

PyDoc_STRVAR(splice_doc,
"splice(base, changes, slot, sources, constants, context, hit_type, source_field, context_field, /)\n"
"--\n\n"
"``base`` (a tuple of hits, by query number) with the queries in ``changes`` (sorted query numbers)\n"
"cut out (``slot[q] < 0``: base[~slot[q]]) or spliced in at ``slot[q]``: ``constants[q]`` when\n"
"``sources[q]`` is None, else a new ``hit_type`` whose two slots (member descriptors) are set to the\n"
"source and ``context``. Returns a tuple; identical to ``engine._splice_py``.");

/* Everything a splice reads besides the changes: splice() and section_hits() both fill one in. */
typedef struct {
    PyObject *base;       /* tuple of hits */
    PyObject *slot;       /* list of int, by query number */
    PyObject *sources;    /* list, by query number */
    PyObject *constants;  /* dict: query number -> hit */
    PyObject *context;
    PyTypeObject *hit_type;
    PyObject *source_field;
    PyObject *context_field;
    descrsetfunc set_source;
    descrsetfunc set_context;
} Splice;

/* Sets the hit type and the two fields of `s`; -1 with TypeError when they are unfit. */
static int
splice_fields(Splice *s, PyObject *hit_type, PyObject *source_field, PyObject *context_field, const char *caller)
{
    if (!PyType_Check(hit_type)) {
        PyErr_Format(PyExc_TypeError, "%s(): hit_type must be a type", caller);
        return -1;
    }
    s->set_source = Py_TYPE(source_field)->tp_descr_set;
    s->set_context = Py_TYPE(context_field)->tp_descr_set;
    if (s->set_source == NULL || s->set_context == NULL) {
        PyErr_Format(PyExc_TypeError, "%s(): the fields must be data descriptors", caller);
        return -1;
    }
    s->hit_type = (PyTypeObject *)hit_type;
    s->source_field = source_field;
    s->context_field = context_field;
    return 0;
}

static int
ssize_at(PyObject *list, Py_ssize_t i, Py_ssize_t *out)
{
    if (i < 0 || i >= PyList_GET_SIZE(list)) {
        PyErr_SetString(PyExc_IndexError, "splice(): query number out of range");
        return -1;
    }
    Py_ssize_t v = PyLong_AsSsize_t(PyList_GET_ITEM(list, i));
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    *out = v;
    return 0;
}

/* The splice itself, for `changes` (n_changes query numbers, ascending): a new tuple. The hits are
 * collected in a plain array that owns its references, which then move into the tuple of the right size. */
static PyObject *
splice_tuple(const Splice *s, const Py_ssize_t *changes, Py_ssize_t n_changes)
{
    PyObject *base = s->base;
    Py_ssize_t n_base = PyTuple_GET_SIZE(base);
    PyObject **out = PyMem_New(PyObject *, n_base + n_changes + 1);  /* out[:n] is filled; +1: never size 0 */
    if (out == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL) {
        PyMem_Free(out);
        return NULL;
    }
    Py_ssize_t n = 0, done = 0;
    for (Py_ssize_t c = 0; c < n_changes; c++) {
        Py_ssize_t q = changes[c];
        Py_ssize_t k;
        if (ssize_at(s->slot, q, &k) < 0) {
            goto error;
        }
        Py_ssize_t upto = k < 0 ? ~k : k;
        if (upto < done || upto > n_base || (k < 0 && upto >= n_base)) {
            PyErr_SetString(PyExc_ValueError, "splice(): changes are not sorted, or a slot is out of range");
            goto error;
        }
        for (; done < upto; done++) {
            out[n] = PyTuple_GET_ITEM(base, done);
            Py_INCREF(out[n++]);
        }
        if (k < 0) {  /* true by default, false here: cut base[~k] */
            done = upto + 1;
            continue;
        }
        if (q >= PyList_GET_SIZE(s->sources)) {
            PyErr_SetString(PyExc_IndexError, "splice(): query number out of range");
            goto error;
        }
        PyObject *source = PyList_GET_ITEM(s->sources, q);
        PyObject *hit;
        if (source == Py_None) {
            PyObject *key = PyLong_FromSsize_t(q);
            if (key == NULL) {
                goto error;
            }
            hit = PyDict_GetItemWithError(s->constants, key);
            if (hit == NULL) {
                if (!PyErr_Occurred()) {
                    PyErr_SetObject(PyExc_KeyError, key);
                }
                Py_DECREF(key);
                goto error;
            }
            Py_INCREF(hit);
            Py_DECREF(key);
        }
        else {
            Py_INCREF(source);
            hit = PyBaseObject_Type.tp_new(s->hit_type, empty, NULL);  /* object.__new__(hit_type) */
            if (hit == NULL) {
                Py_DECREF(source);
                goto error;
            }
            int rc = s->set_source(s->source_field, hit, source);
            Py_DECREF(source);
            if (rc < 0 || s->set_context(s->context_field, hit, s->context) < 0) {
                Py_DECREF(hit);
                goto error;
            }
        }
        out[n++] = hit;
    }
    for (; done < n_base; done++) {
        out[n] = PyTuple_GET_ITEM(base, done);
        Py_INCREF(out[n++]);
    }
    Py_CLEAR(empty);
    PyObject *result = PyTuple_New(n);
    if (result == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyTuple_SET_ITEM(result, i, out[i]);  /* the reference moves */
    }
    PyMem_Free(out);
    return result;

error:
    Py_XDECREF(empty);
    while (n > 0) {
        Py_DECREF(out[--n]);
    }
    PyMem_Free(out);
    return NULL;
}

static PyObject *
speedups_splice(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 9) {
        PyErr_Format(PyExc_TypeError, "splice() takes 9 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *changes = args[1];
    Splice s = {.base = args[0], .slot = args[2], .sources = args[3], .constants = args[4], .context = args[5]};
    if (!PyTuple_Check(s.base) || !PyList_Check(changes) || !PyList_Check(s.slot) || !PyList_Check(s.sources)
        || !PyDict_Check(s.constants)) {
        PyErr_SetString(PyExc_TypeError,
                        "splice() expects (tuple, list, list, list, dict, object, type, descriptor, descriptor)");
        return NULL;
    }
    if (splice_fields(&s, args[6], args[7], args[8], "splice") < 0) {
        return NULL;
    }
    /* Read up front: setting a field may run Python code (a descriptor's __set__) that changes the list. */
    Py_ssize_t n_changes = PyList_GET_SIZE(changes);
    Py_ssize_t *numbers = PyMem_New(Py_ssize_t, n_changes ? n_changes : 1);
    if (numbers == NULL) {
        return PyErr_NoMemory();
    }
    for (Py_ssize_t c = 0; c < n_changes; c++) {
        numbers[c] = PyLong_AsSsize_t(PyList_GET_ITEM(changes, c));
        if (numbers[c] == -1 && PyErr_Occurred()) {
            PyMem_Free(numbers);
            return NULL;
        }
    }
    PyObject *result = splice_tuple(&s, numbers, n_changes);
    PyMem_Free(numbers);
    return result;
}

/* ------------------------------------------------------------------------------------------------
 * section_hits: all of _Section.hits in one call (see engine.py, _Section and _section_hits_py)
 *
 * A section's index is two bytes objects of C ints (``array("i")``), read in place. The entry of atom a
 * is entries[entry_at[a]:entry_at[a + 1]] (empty: nothing is indexed under a), laid out as
 *
 *     tested_end, sure_end, sure_off_end, tested..., sure..., sure_off..., conjunction...
 *
 * where the three ends are offsets into ``entries`` and each conjunction is
 *
 *     query, n_required, n_excluded, required atom..., excluded atom...
 *
 * Flat ints rather than tuples of Python ints because an article reads ~70 entries of an index of
 * thousands: every object an entry pointed to was one more cache miss. Which queries are candidates,
 * true or cut is kept in bit sets over the query numbers (no Python sets); the candidates' tests are
 * called from here, in query order; the changes come out sorted from a scan of the bits and go through
 * splice_tuple above.
 * ------------------------------------------------------------------------------------------------ */

PyDoc_STRVAR(section_hits_doc,
"section_hits(entry_at, entries, always, base, slot, constants, pos, view, tests, sources, hit_type, "
"source_field, context_field, /)\n"
"--\n\n"
"The hits of one section (``engine._Section``) on the article ``view``, whose atoms are the keys of\n"
"``pos``. The packed index (``entry_at``, ``entries``; see ``_Section``) gives, per atom, the queries\n"
"that become candidates, true (*sure*) or false (*sure_off*) when it is present, and conjunctions, true\n"
"when every required atom and no excluded one is in ``pos``. The candidates (and ``always``) are true\n"
"when ``tests[q](view)`` is. The queries that differ from their default (true by default:\n"
"``slot[q] < 0``) are spliced into ``base`` as ``splice`` does, with ``view`` as the context; ``base``\n"
"itself is returned when none does. Identical to ``engine._section_hits_py``; an exception raised by a\n"
"test propagates.");

#define WORD_BITS 64  /* members per word of a bit set */

static inline void
bit_set(uint64_t *set, Py_ssize_t i)
{
    set[i / WORD_BITS] |= (uint64_t)1 << (i % WORD_BITS);
}

static inline int
bit_test(const uint64_t *set, Py_ssize_t i)
{
    return (int)((set[i / WORD_BITS] >> (i % WORD_BITS)) & 1);
}

/* The index of the lowest set bit of a non-zero word. */
static inline int
lowest_bit(uint64_t word)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctzll(word);
#else
    int b = 0;
    while (!(word & 1)) {
        word >>= 1;
        b++;
    }
    return b;
#endif
}

/* ints[i] of a bytes object's data; memcpy: no assumption about the data's alignment. */
static inline Py_ssize_t
int_at(const char *ints, Py_ssize_t i)
{
    int v;
    memcpy(&v, ints + i * (Py_ssize_t)sizeof(int), sizeof(int));
    return v;
}

/* A section's packed index (see above) and the bit sets of one call. */
typedef struct {
    const char *entry_at;  /* n_atoms + 1 ints */
    Py_ssize_t n_atoms;
    const char *entries;   /* n_entries ints */
    Py_ssize_t n_entries;
    Py_ssize_t n_queries;  /* len(slot): query numbers are below it */
    uint64_t *present;     /* the atoms of the article */
    uint64_t *candidates;  /* the queries to test */
    uint64_t *truth;       /* the queries true here; after the tests, the changes */
    uint64_t *off;         /* the queries a present atom makes false */
} Section;

/* An int as a Py_ssize_t, or -1 when it does not fit: the callers take both as out of range. */
static Py_ssize_t
ssize_or_minus_one(PyObject *number)
{
    Py_ssize_t v = PyLong_AsSsize_t(number);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();  /* OverflowError */
    }
    return v;
}

static int
malformed(void)
{
    PyErr_SetString(PyExc_ValueError, "section_hits(): the packed index is malformed");
    return -1;
}

static int
query_out_of_range(void)
{
    PyErr_SetString(PyExc_IndexError, "section_hits(): query number out of range");
    return -1;
}

/* Adds the query numbers entries[from:to] to `set`. */
static int
add_queries(const Section *x, Py_ssize_t from, Py_ssize_t to, uint64_t *set)
{
    for (Py_ssize_t i = from; i < to; i++) {
        Py_ssize_t q = int_at(x->entries, i);
        if (q < 0 || q >= x->n_queries) {
            return query_out_of_range();
        }
        bit_set(set, q);
    }
    return 0;
}

/* Applies the entry of one atom of the article. */
static int
add_entry(Section *x, Py_ssize_t atom)
{
    Py_ssize_t start = int_at(x->entry_at, atom), end = int_at(x->entry_at, atom + 1);
    if (start == end) {
        return 0;
    }
    if (start < 0 || end - start < 3 || end > x->n_entries) {
        return malformed();
    }
    Py_ssize_t tested_end = int_at(x->entries, start);
    Py_ssize_t sure_end = int_at(x->entries, start + 1);
    Py_ssize_t sure_off_end = int_at(x->entries, start + 2);
    if (tested_end < start + 3 || sure_end < tested_end || sure_off_end < sure_end || end < sure_off_end) {
        return malformed();
    }
    if (add_queries(x, start + 3, tested_end, x->candidates) < 0
        || add_queries(x, tested_end, sure_end, x->truth) < 0
        || add_queries(x, sure_end, sure_off_end, x->off) < 0) {
        return -1;
    }
    for (Py_ssize_t i = sure_off_end; i < end;) {
        if (end - i < 3) {
            return malformed();
        }
        Py_ssize_t q = int_at(x->entries, i);
        Py_ssize_t n_required = int_at(x->entries, i + 1), n_excluded = int_at(x->entries, i + 2);
        i += 3;
        if (n_required < 0 || n_excluded < 0 || n_required + n_excluded > end - i) {
            return malformed();
        }
        if (q < 0 || q >= x->n_queries) {
            return query_out_of_range();
        }
        int holds = 1;  /* every required atom present, no excluded one */
        for (Py_ssize_t k = 0; k < n_required + n_excluded; k++) {
            Py_ssize_t a = int_at(x->entries, i + k);
            if (a < 0 || a >= x->n_atoms) {
                return malformed();
            }
            if (bit_test(x->present, a) != (k < n_required)) {
                holds = 0;
            }
        }
        if (holds) {
            bit_set(x->truth, q);
        }
        i += n_required + n_excluded;
    }
    return 0;
}

/* tests[q](view) as a truth value: 1, 0, or -1 with the test's exception. */
static int
run_test(PyObject *tests, Py_ssize_t q, PyObject *view)
{
    if (q >= PyList_GET_SIZE(tests)) {
        PyErr_SetString(PyExc_IndexError, "section_hits(): no test for a query number");
        return -1;
    }
    PyObject *test = PyList_GET_ITEM(tests, q);
    Py_INCREF(test);  /* the test may change the list */
    PyObject *answer = PyObject_CallOneArg(test, view);
    Py_DECREF(test);
    if (answer == NULL) {
        return -1;
    }
    int truth = PyObject_IsTrue(answer);
    Py_DECREF(answer);
    return truth;
}

static PyObject *
speedups_section_hits(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 13) {
        PyErr_Format(PyExc_TypeError, "section_hits() takes 13 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *entry_at = args[0], *entries = args[1], *always = args[2], *pos = args[6], *tests = args[8];
    Splice s = {.base = args[3], .slot = args[4], .constants = args[5], .context = args[7], .sources = args[9]};
    if (!PyBytes_Check(entry_at) || !PyBytes_Check(entries) || !PyTuple_Check(always) || !PyTuple_Check(s.base)
        || !PyList_Check(s.slot) || !PyDict_Check(s.constants) || !PyDict_Check(pos) || !PyList_Check(tests)
        || !PyList_Check(s.sources)) {
        PyErr_SetString(PyExc_TypeError, "section_hits() expects (bytes, bytes, tuple, tuple, list, dict, dict, "
                                         "object, list, list, type, descriptor, descriptor)");
        return NULL;
    }
    if (splice_fields(&s, args[10], args[11], args[12], "section_hits") < 0) {
        return NULL;
    }
    Py_ssize_t at_size = PyBytes_GET_SIZE(entry_at), entries_size = PyBytes_GET_SIZE(entries);
    if (at_size < (Py_ssize_t)sizeof(int) || at_size % sizeof(int) || entries_size % sizeof(int)) {
        malformed();
        return NULL;
    }
    Section x = {
        .entry_at = PyBytes_AS_STRING(entry_at),
        .n_atoms = at_size / (Py_ssize_t)sizeof(int) - 1,
        .entries = PyBytes_AS_STRING(entries),
        .n_entries = entries_size / (Py_ssize_t)sizeof(int),
        .n_queries = PyList_GET_SIZE(s.slot),
    };
    /* One block: four bit sets, then the article's atoms. It is allocated per call, not kept with the
     * section, because a test is Python code, during which another thread may use the same section. */
    Py_ssize_t query_words = (x.n_queries + WORD_BITS - 1) / WORD_BITS;
    Py_ssize_t atom_words = (x.n_atoms + WORD_BITS - 1) / WORD_BITS;
    Py_ssize_t n_pos = PyDict_GET_SIZE(pos);
    size_t words = 3 * (size_t)query_words + (size_t)atom_words;
    char *block = PyMem_Calloc(words * sizeof(uint64_t) + (size_t)n_pos * sizeof(Py_ssize_t) + 1, 1);
    if (block == NULL) {
        return PyErr_NoMemory();
    }
    x.candidates = (uint64_t *)block;
    x.truth = x.candidates + query_words;
    x.off = x.truth + query_words;
    x.present = x.off + query_words;
    Py_ssize_t *atoms = (Py_ssize_t *)(x.present + atom_words);
    Py_ssize_t *changes = NULL;
    PyObject *result = NULL;

    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(always); i++) {
        PyObject *item = PyTuple_GET_ITEM(always, i);
        if (!PyLong_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "section_hits(): always must hold ints");
            goto done;
        }
        Py_ssize_t q = ssize_or_minus_one(item);
        if (q < 0 || q >= x.n_queries) {
            query_out_of_range();
            goto done;
        }
        bit_set(x.candidates, q);
    }
    /* The article's atoms first (a conjunction asks about any of them), then their entries. Atoms
     * outside the index have no entry, like the ones it has no rule for. */
    Py_ssize_t n_present = 0, at = 0;
    PyObject *key;
    while (n_present < n_pos && PyDict_Next(pos, &at, &key, NULL)) {
        if (!PyLong_Check(key)) {
            PyErr_Format(PyExc_TypeError, "section_hits(): an atom must be int, not %.200s",
                         Py_TYPE(key)->tp_name);
            goto done;
        }
        Py_ssize_t atom = ssize_or_minus_one(key);
        if (atom >= 0 && atom < x.n_atoms) {
            bit_set(x.present, atom);
            atoms[n_present++] = atom;
        }
    }
    for (Py_ssize_t i = 0; i < n_present; i++) {
        if (add_entry(&x, atoms[i]) < 0) {
            goto done;
        }
    }
    /* Each candidate's test. A candidate true by default (slot < 0, in `base`) changes when it is false
     * here, so its bit is flipped: `truth` becomes the reference's symmetric difference. */
    for (Py_ssize_t w = 0; w < query_words; w++) {
        for (uint64_t bits = x.candidates[w]; bits != 0; bits &= bits - 1) {
            Py_ssize_t q = w * WORD_BITS + lowest_bit(bits);
            uint64_t bit = bits & (~bits + 1);
            int verdict = run_test(tests, q, s.context);
            Py_ssize_t k;
            if (verdict < 0 || ssize_at(s.slot, q, &k) < 0) {
                goto done;
            }
            if (verdict) {
                x.truth[w] |= bit;
            }
            if (k < 0) {
                x.truth[w] ^= bit;
            }
        }
    }
    Py_ssize_t n_changes = 0;
    for (Py_ssize_t w = 0; w < query_words; w++) {
        x.truth[w] |= x.off[w];
        for (uint64_t bits = x.truth[w]; bits != 0; bits &= bits - 1) {
            n_changes++;
        }
    }
    if (n_changes == 0) {
        Py_INCREF(s.base);
        result = s.base;
        goto done;
    }
    changes = PyMem_New(Py_ssize_t, n_changes);
    if (changes == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t c = 0;
    for (Py_ssize_t w = 0; w < query_words; w++) {
        for (uint64_t bits = x.truth[w]; bits != 0; bits &= bits - 1) {
            changes[c++] = w * WORD_BITS + lowest_bit(bits);
        }
    }
    result = splice_tuple(&s, changes, n_changes);

done:
    PyMem_Free(changes);
    PyMem_Free(block);
    return result;
}

/* ------------------------------------------------------------------------------------------------
 * korean_keys: a Korean token's keys (see text.py, _korean_keys_py)
 * ------------------------------------------------------------------------------------------------ */

PyDoc_STRVAR(korean_keys_doc,
"korean_keys(word, stripped, by_last, /)\n"
"--\n\n"
"``(stripped, *bases)``: ``word`` without each particle it ends with (``by_last`` maps a last character\n"
"to its particles as (particle, length) pairs, longest first), and each of those without a further\n"
"particle, in order and without repeats. Identical to ``text._korean_keys_py``.");

/* Appends to `out` each `word` minus a particle it ends with (never the whole word). */
static int
strip_particles(PyObject *word, PyObject *by_last, PyObject *out)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(word);
    if (n == 0) {
        return 0;
    }
    PyObject *last = PyUnicode_Substring(word, n - 1, n);
    if (last == NULL) {
        return -1;
    }
    PyObject *particles = PyDict_GetItemWithError(by_last, last);  /* borrowed */
    Py_DECREF(last);
    if (particles == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    if (!PyTuple_Check(particles)) {
        PyErr_SetString(PyExc_TypeError, "korean_keys(): by_last values must be tuples");
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(particles); i++) {
        PyObject *pair = PyTuple_GET_ITEM(particles, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(pair, 0))) {
            PyErr_SetString(PyExc_TypeError, "korean_keys(): particles must be (str, int) pairs");
            return -1;
        }
        PyObject *particle = PyTuple_GET_ITEM(pair, 0);
        Py_ssize_t k = PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 1));
        if (k == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (k >= n) {
            continue;
        }
        Py_ssize_t ends = PyUnicode_Tailmatch(word, particle, 0, n, +1);
        if (ends < 0) {
            return -1;
        }
        if (ends) {
            PyObject *base = PyUnicode_Substring(word, 0, n - k);
            if (base == NULL) {
                return -1;
            }
            int rc = PyList_Append(out, base);
            Py_DECREF(base);
            if (rc < 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* Appends `key` to `keys` unless it is there already. */
static int
add_key(PyObject *keys, PyObject *key)
{
    int found = PySequence_Contains(keys, key);
    if (found < 0) {
        return -1;
    }
    return found ? 0 : PyList_Append(keys, key);
}

static PyObject *
korean_keys_of(PyObject *word, PyObject *stripped, PyObject *by_last)
{
    PyObject *keys = PyList_New(0);
    PyObject *bases = PyList_New(0);
    PyObject *inner = PyList_New(0);
    if (keys == NULL || bases == NULL || inner == NULL || PyList_Append(keys, stripped) < 0
        || strip_particles(word, by_last, bases) < 0) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(bases); i++) {
        PyObject *base = PyList_GET_ITEM(bases, i);
        if (add_key(keys, base) < 0 || PyList_SetSlice(inner, 0, PyList_GET_SIZE(inner), NULL) < 0
            || strip_particles(base, by_last, inner) < 0) {
            goto error;
        }
        for (Py_ssize_t j = 0; j < PyList_GET_SIZE(inner); j++) {
            if (add_key(keys, PyList_GET_ITEM(inner, j)) < 0) {
                goto error;
            }
        }
    }
    PyObject *result = PyList_AsTuple(keys);
    Py_DECREF(keys);
    Py_DECREF(bases);
    Py_DECREF(inner);
    return result;

error:
    Py_XDECREF(keys);
    Py_XDECREF(bases);
    Py_XDECREF(inner);
    return NULL;
}

static PyObject *
speedups_korean_keys(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1]) || !PyDict_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "korean_keys() expects (str, str, dict)");
        return NULL;
    }
    return korean_keys_of(args[0], args[1], args[2]);
}

/* ------------------------------------------------------------------------------------------------
 * normalize_many: words as the matcher compares them (see text.py, normalize)
 * ------------------------------------------------------------------------------------------------ */

PyDoc_STRVAR(normalize_many_doc,
"normalize_many(words, unicode_normalize, /)\n--\n\n"
"Each word NFKC-normalised (``unicode_normalize``: ``unicodedata.normalize``) and casefolded; an ASCII\n"
"word, which NFKC leaves as it is, only lowercased. Identical to ``[text.normalize(w) for w in words]``.");

static PyObject *casefold_name;  /* "casefold", interned at module execution */

static PyObject *
speedups_normalize_many(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2 || !PyList_Check(args[0]) || !PyCallable_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "normalize_many() expects (list, callable)");
        return NULL;
    }
    PyObject *words = args[0];
    PyObject *form = PyUnicode_FromString("NFKC");
    PyObject *out = form == NULL ? NULL : PyList_New(0);
    if (out == NULL) {
        Py_XDECREF(form);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(words); i++) {
        PyObject *word = PyList_GET_ITEM(words, i), *done;
        if (!PyUnicode_Check(word)) {
            PyErr_SetString(PyExc_TypeError, "normalize_many(): words must be str");
            goto error;
        }
        if (PyUnicode_IS_ASCII(word)) {
            Py_ssize_t n = PyUnicode_GET_LENGTH(word);
            const Py_UCS1 *data = PyUnicode_1BYTE_DATA(word);
            done = PyUnicode_New(n, 127);
            if (done == NULL) {
                goto error;
            }
            Py_UCS1 *lower = PyUnicode_1BYTE_DATA(done);
            for (Py_ssize_t k = 0; k < n; k++) {
                lower[k] = (data[k] >= 'A' && data[k] <= 'Z') ? (Py_UCS1)(data[k] + 32) : data[k];
            }
        }
        else {
            Py_INCREF(word);  /* the callable may run any code */
            PyObject *call_args[2] = {form, word};
            PyObject *nfkc = PyObject_Vectorcall(args[1], call_args, 2, NULL);
            Py_DECREF(word);
            if (nfkc == NULL) {
                goto error;
            }
            if (!PyUnicode_Check(nfkc)) {
                Py_DECREF(nfkc);
                PyErr_SetString(PyExc_TypeError, "normalize_many(): unicode_normalize must return str");
                goto error;
            }
            done = PyObject_CallMethodNoArgs(nfkc, casefold_name);
            Py_DECREF(nfkc);
            if (done == NULL) {
                goto error;
            }
        }
        int rc = PyList_Append(out, done);
        Py_DECREF(done);
        if (rc < 0) {
            goto error;
        }
    }
    Py_DECREF(form);
    return out;

error:
    Py_DECREF(form);
    Py_DECREF(out);
    return NULL;
}

/* ------------------------------------------------------------------------------------------------
 * token_keys_many, atoms_of_many: new word forms resolved to atoms (see text.py, engine.py _Atoms)
 * ------------------------------------------------------------------------------------------------ */

enum { SCRIPT_OTHER, SCRIPT_EN, SCRIPT_RU, SCRIPT_KO };

static inline int
is_hangul_or_han(Py_UCS4 ch)
{
    return (ch >= 0x1100 && ch <= 0x11FF) || (ch >= 0x3130 && ch <= 0x318F) || (ch >= 0xAC00 && ch <= 0xD7A3)
           || (ch >= 0x3400 && ch <= 0x4DBF) || (ch >= 0x4E00 && ch <= 0x9FFF) || (ch >= 0xF900 && ch <= 0xFAFF);
}

/* text.script_of: Hangul or Han anywhere -> ko, else Cyrillic -> ru, else [a-z\u00c0-\u024f] -> en. */
static int
script_code(PyObject *word)
{
    int kind = PyUnicode_KIND(word);
    const void *data = PyUnicode_DATA(word);
    Py_ssize_t n = PyUnicode_GET_LENGTH(word);
    int cyrillic = 0, latin = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (is_hangul_or_han(ch)) {
            return SCRIPT_KO;
        }
        if (ch >= 0x0400 && ch <= 0x04FF) {
            cyrillic = 1;
        }
        else if ((ch >= 'a' && ch <= 'z') || (ch >= 0x00C0 && ch <= 0x024F)) {
            latin = 1;
        }
    }
    return cyrillic ? SCRIPT_RU : latin ? SCRIPT_EN : SCRIPT_OTHER;
}

/* `word` without a trailing "'s" / "’s" when it is longer than two characters, else `word` (new refs). */
static PyObject *
strip_possessive(PyObject *word)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(word);
    if (n > 2 && PyUnicode_READ_CHAR(word, n - 1) == 's') {
        Py_UCS4 mark = PyUnicode_READ_CHAR(word, n - 2);
        if (mark == '\'' || mark == 0x2019) {
            return PyUnicode_Substring(word, 0, n - 2);
        }
    }
    Py_INCREF(word);
    return word;
}

/* Stems batch[i] with `stem_words` (PyStemmer's stemWords) and stores (stem,) at out[at[i]]. */
static int
stem_batch(PyObject *stem_words, PyObject *batch, PyObject *at, PyObject *out)
{
    if (PyList_GET_SIZE(batch) == 0) {
        return 0;
    }
    PyObject *stems = PyObject_CallOneArg(stem_words, batch);
    if (stems == NULL) {
        return -1;
    }
    if (!PyList_Check(stems) || PyList_GET_SIZE(stems) != PyList_GET_SIZE(batch)) {
        Py_DECREF(stems);
        PyErr_SetString(PyExc_TypeError, "token_keys_many(): stem_words must return a list as long as its input");
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(stems); i++) {
        PyObject *stem = PyObject_Str(PyList_GET_ITEM(stems, i));
        PyObject *key = stem == NULL ? NULL : PyTuple_Pack(1, stem);
        Py_XDECREF(stem);
        if (key == NULL) {
            Py_DECREF(stems);
            return -1;
        }
        if (PyList_SetItem(out, PyLong_AsSsize_t(PyList_GET_ITEM(at, i)), key) < 0) {  /* steals key */
            Py_DECREF(stems);
            return -1;
        }
    }
    Py_DECREF(stems);
    return 0;
}

PyDoc_STRVAR(token_keys_many_doc,
"token_keys_many(words, by_last, stem_english, stem_russian, /)\n"
"--\n\n"
"Every key of each normalised word: the English or Russian Snowball stem (``stem_english`` and\n"
"``stem_russian`` are PyStemmer ``stemWords`` methods, called once per batch), the Korean keys\n"
"(see ``korean_keys``), or the word itself. Identical to ``text._token_keys_many_py``.");

static PyObject *
speedups_token_keys_many(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4 || !PyList_Check(args[0]) || !PyDict_Check(args[1]) || !PyCallable_Check(args[2])
        || !PyCallable_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "token_keys_many() expects (list, dict, callable, callable)");
        return NULL;
    }
    PyObject *words = args[0], *by_last = args[1];
    Py_ssize_t n = PyList_GET_SIZE(words);
    PyObject *out = PyList_New(n);
    PyObject *en = PyList_New(0), *en_at = PyList_New(0), *ru = PyList_New(0), *ru_at = PyList_New(0);
    if (out == NULL || en == NULL || en_at == NULL || ru == NULL || ru_at == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_INCREF(Py_None);
        PyList_SET_ITEM(out, i, Py_None);
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(words) && i < n; i++) {
        PyObject *word = PyList_GET_ITEM(words, i);
        if (!PyUnicode_Check(word)) {
            PyErr_SetString(PyExc_TypeError, "token_keys_many(): words must be str");
            goto error;
        }
        PyObject *stripped = strip_possessive(word);
        if (stripped == NULL) {
            goto error;
        }
        int script = script_code(stripped);
        PyObject *keys = NULL;
        if (script == SCRIPT_EN || script == SCRIPT_RU) {
            PyObject *index = PyLong_FromSsize_t(i);
            int rc = index == NULL ? -1 : PyList_Append(script == SCRIPT_EN ? en_at : ru_at, index);
            Py_XDECREF(index);
            if (rc == 0) {
                rc = PyList_Append(script == SCRIPT_EN ? en : ru, stripped);
            }
            Py_DECREF(stripped);
            if (rc < 0) {
                goto error;
            }
            continue;
        }
        if (script == SCRIPT_KO || (stripped != word && script_code(word) == SCRIPT_KO)) {
            keys = korean_keys_of(word, stripped, by_last);
        }
        else {
            keys = PyTuple_Pack(1, stripped);
        }
        Py_DECREF(stripped);
        if (keys == NULL) {
            goto error;
        }
        if (PyList_SetItem(out, i, keys) < 0) {  /* steals keys */
            goto error;
        }
    }
    if (stem_batch(args[2], en, en_at, out) < 0 || stem_batch(args[3], ru, ru_at, out) < 0) {
        goto error;
    }
    Py_DECREF(en);
    Py_DECREF(en_at);
    Py_DECREF(ru);
    Py_DECREF(ru_at);
    return out;

error:
    Py_XDECREF(out);
    Py_XDECREF(en);
    Py_XDECREF(en_at);
    Py_XDECREF(ru);
    Py_XDECREF(ru_at);
    return NULL;
}

/* text.ru_ending_ok: at most RU_MAX_ENDING characters, and only vowels after a stem under 4. */
static int
ru_ending_ok(PyObject *word, Py_ssize_t stem_len, Py_ssize_t max_ending)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(word);
    if (n - stem_len > max_ending) {
        return 0;
    }
    if (stem_len >= 4) {
        return 1;
    }
    for (Py_ssize_t i = stem_len; i < n; i++) {
        switch (PyUnicode_READ_CHAR(word, i)) {
        case 0x0430: case 0x0435: case 0x0451: case 0x0438: case 0x043E: case 0x0443:  /* а е ё и о у */
        case 0x044B: case 0x044D: case 0x044E: case 0x044F: case 0x0439: case 0x044C:  /* ы э ю я й ь */
            break;
        default:
            return 0;
        }
    }
    return 1;
}

/* Appends the int items of the sequence `atoms` (a list or tuple) to `out`. */
static int
extend_atoms(PyObject *out, PyObject *atoms)
{
    if (!PyList_Check(atoms) && !PyTuple_Check(atoms)) {
        PyErr_SetString(PyExc_TypeError, "atoms_of_many(): exact values must be lists or tuples");
        return -1;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(atoms); i++) {
        if (PyList_Append(out, PySequence_Fast_GET_ITEM(atoms, i)) < 0) {
            return -1;
        }
    }
    return 0;
}

/* The atoms of `word` that start with a prefix: `trie` maps every prefix of every prefix to its
 * (atom, is_russian_stem) pairs (empty when it is only part of a longer prefix), so the walk over the
 * word's heads stops at the first head that no prefix starts with. */
static int
prefix_atoms(PyObject *word, PyObject *trie, Py_ssize_t max_ending, PyObject *out)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(word);
    for (Py_ssize_t len = 1; len <= n; len++) {
        PyObject *head = PyUnicode_Substring(word, 0, len);
        if (head == NULL) {
            return -1;
        }
        PyObject *items = PyDict_GetItemWithError(trie, head);  /* borrowed */
        Py_DECREF(head);
        if (items == NULL) {
            return PyErr_Occurred() ? -1 : 0;  /* no prefix starts with this head */
        }
        if (!PyTuple_Check(items) && !PyList_Check(items)) {
            PyErr_SetString(PyExc_TypeError, "atoms_of_many(): prefix values must be (atom, is_russian) pairs");
            return -1;
        }
        for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(items); k++) {
            PyObject *pair = PySequence_Fast_GET_ITEM(items, k);
            if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
                PyErr_SetString(PyExc_TypeError, "atoms_of_many(): prefix values must be (atom, is_russian) pairs");
                return -1;
            }
            int russian = PyObject_IsTrue(PyTuple_GET_ITEM(pair, 1));
            if (russian < 0) {
                return -1;
            }
            if ((!russian || ru_ending_ok(word, len, max_ending))
                && PyList_Append(out, PyTuple_GET_ITEM(pair, 0)) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

PyDoc_STRVAR(atoms_of_many_doc,
"atoms_of_many(words, keys, exact, trie, max_ending, /)\n"
"--\n\n"
"For each normalised word and its keys (``token_keys_many``): the atoms of ``exact[key]`` for each key,\n"
"and of ``trie[p]`` (``(atom, is_russian_stem)`` pairs) for each head ``p`` of the word, stopping at the\n"
"first head missing from ``trie`` (which holds every prefix of every prefix, ``()`` where it is not one\n"
"itself), a Russian stem only when the rest of the word is an inflection (``text.ru_ending_ok``,\n"
"``max_ending``: ``RU_MAX_ENDING``). A tuple per word: as found when under two atoms, else sorted without\n"
"repeats. Identical to ``engine._Atoms._atoms_of`` for each word.");

static PyObject *
speedups_atoms_of_many(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 5 || !PyList_Check(args[0]) || !PyList_Check(args[1]) || !PyDict_Check(args[2])
        || !PyDict_Check(args[3]) || !PyLong_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "atoms_of_many() expects (list, list, dict, dict, int)");
        return NULL;
    }
    PyObject *words = args[0], *keys_list = args[1], *exact = args[2], *trie = args[3];
    Py_ssize_t max_ending = PyLong_AsSsize_t(args[4]);
    if (max_ending == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(words);
    if (PyList_GET_SIZE(keys_list) != n) {
        PyErr_SetString(PyExc_ValueError, "atoms_of_many(): words and keys differ in length");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    PyObject *atoms = PyList_New(0);
    if (out == NULL || atoms == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < n && i < PyList_GET_SIZE(words) && i < PyList_GET_SIZE(keys_list); i++) {
        PyObject *word = PyList_GET_ITEM(words, i), *keys = PyList_GET_ITEM(keys_list, i);
        if (!PyUnicode_Check(word) || !PyTuple_Check(keys)) {
            PyErr_SetString(PyExc_TypeError, "atoms_of_many(): words must be str and keys tuples");
            goto error;
        }
        if (PyList_SetSlice(atoms, 0, PyList_GET_SIZE(atoms), NULL) < 0) {
            goto error;
        }
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(keys); k++) {
            PyObject *found = PyDict_GetItemWithError(exact, PyTuple_GET_ITEM(keys, k));  /* borrowed */
            if (found == NULL ? PyErr_Occurred() != NULL : extend_atoms(atoms, found) < 0) {
                goto error;
            }
        }
        if (PyDict_GET_SIZE(trie) && prefix_atoms(word, trie, max_ending, atoms) < 0) {
            goto error;
        }
        PyObject *result;
        if (PyList_GET_SIZE(atoms) < 2) {
            result = PyList_AsTuple(atoms);
        }
        else {  /* tuple(sorted(set(atoms))) */
            PyObject *unique = PySet_New(atoms);
            PyObject *sorted = unique == NULL ? NULL : PySequence_List(unique);
            Py_XDECREF(unique);
            if (sorted == NULL || PyList_Sort(sorted) < 0) {
                Py_XDECREF(sorted);
                goto error;
            }
            result = PyList_AsTuple(sorted);
            Py_DECREF(sorted);
        }
        if (result == NULL) {
            goto error;
        }
        int rc = PyList_Append(out, result);
        Py_DECREF(result);
        if (rc < 0) {
            goto error;
        }
    }
    Py_DECREF(atoms);
    return out;

error:
    Py_XDECREF(out);
    Py_XDECREF(atoms);
    return NULL;
}


static PyMethodDef speedups_methods[] = {
    {"tokenize", speedups_tokenize, METH_O, tokenize_doc},
    {"positions", speedups_positions, METH_O, positions_doc},
    {"point_spans", (PyCFunction)(void (*)(void))speedups_point_spans, METH_FASTCALL, point_spans_doc},
    {"phrase_spans", (PyCFunction)(void (*)(void))speedups_phrase_spans, METH_FASTCALL, phrase_spans_doc},
    {"lookup_positions", (PyCFunction)(void (*)(void))speedups_lookup_positions, METH_FASTCALL, lookup_positions_doc},
    {"splice", (PyCFunction)(void (*)(void))speedups_splice, METH_FASTCALL, splice_doc},
    {"section_hits", (PyCFunction)(void (*)(void))speedups_section_hits, METH_FASTCALL, section_hits_doc},
    {"korean_keys", (PyCFunction)(void (*)(void))speedups_korean_keys, METH_FASTCALL, korean_keys_doc},
    {"normalize_many", (PyCFunction)(void (*)(void))speedups_normalize_many, METH_FASTCALL, normalize_many_doc},
    {"token_keys_many", (PyCFunction)(void (*)(void))speedups_token_keys_many, METH_FASTCALL, token_keys_many_doc},
    {"atoms_of_many", (PyCFunction)(void (*)(void))speedups_atoms_of_many, METH_FASTCALL, atoms_of_many_doc},
    {NULL, NULL, 0, NULL},
};

static int
speedups_exec(PyObject *module)
{
    (void)module;
    if (casefold_name == NULL && (casefold_name = PyUnicode_InternFromString("casefold")) == NULL) {
        return -1;
    }
    for (Py_UCS4 ch = 0; ch < 0x10000; ch++) {
        if (Py_UNICODE_ISALNUM(ch)) {
            bmp_alnum[ch >> 3] |= (unsigned char)(1u << (ch & 7));
        }
    }
    return 0;
}

static PyModuleDef_Slot speedups_slots[] = {
    {Py_mod_exec, speedups_exec},
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "bot.matching._speedups",
    .m_doc = "The matcher's hot loops in C (see bot/matching/text.py and engine.py).",
    .m_size = 0,
    .m_methods = speedups_methods,
    .m_slots = speedups_slots,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
