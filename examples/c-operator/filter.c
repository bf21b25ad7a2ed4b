/* c_filter: an oplink operator written in C against oplink.h alone.
 *
 * It keeps the rows whose Int64 column `column` is at least `min`, configured as
 * {"column": "amount", "min": 10}, with the same semantics as the Rust `threshold` example
 * (`Change::filter`): inserts and removes are filtered by their own rows; an update stays an
 * update where its old and new rows both pass and becomes a remove (only the old passed) or
 * an insert (only the new passes) otherwise; a null value is not kept. The other columns may be of any fixed-width type (integers, floats,
 * dates, times, timestamps, durations), booleans, or strings and binaries with 32-bit or
 * 64-bit offsets; another type is an error through the error slot. It logs through the
 * host's standard `oplink.Log` service.
 *
 * Build: cc -std=c11 -shared -fPIC -I../../sdk/include -o libc_filter.so filter.c
 * (see the Makefile). Define OPLINK_BUILD_MINOR=0 to build it against ABI 2.0.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oplink.h"

#ifndef OPLINK_TARGET
#define OPLINK_TARGET "unknown"
#endif
#ifndef OPLINK_PROFILE
#ifdef __OPTIMIZE__
#define OPLINK_PROFILE "release"
#else
#define OPLINK_PROFILE "debug"
#endif
#endif
#ifdef __VERSION__
#define COMPILER "cc " __VERSION__
#else
#define COMPILER "cc"
#endif

/* ---- Errors ----------------------------------------------------------------------- */

static void release_buf(OplinkOwnedBuf *buf) {
    free(buf->ptr);
    buf->ptr = NULL;
    buf->len = 0;
    buf->capacity = 0;
}

static OplinkOwnedBuf owned_text(const char *text) {
    OplinkOwnedBuf buf = {NULL, 0, 0, NULL};
    size_t len = strlen(text);
    buf.ptr = malloc(len + 1);
    if (buf.ptr == NULL) {
        return buf;
    }
    memcpy(buf.ptr, text, len + 1);
    buf.len = len;
    buf.capacity = len + 1;
    buf.release = release_buf;
    return buf;
}

/* Writes `status` with a message and this file's location into the error slot. */
static OplinkStatus fail_at(OplinkErrorOut *err, OplinkStatus status, const char *file, int line,
                            const char *format, ...) {
    char message[512];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
    if (err != NULL) {
        err->message = owned_text(message);
        err->file = owned_text(file);
        err->line = (uint32_t)line;
        err->column = 0;
    }
    return status;
}

#define FAIL(err, status, ...) fail_at((err), (status), __FILE__, __LINE__, __VA_ARGS__)

/* ---- Configuration ------------------------------------------------------------------ */

/* The value after `"key"` and a colon, or NULL. Enough JSON for a flat object. */
static const char *json_value(const char *json, size_t len, const char *key) {
    char pattern[80];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    size_t plen = strlen(pattern);
    for (size_t i = 0; i + plen <= len; i++) {
        if (memcmp(json + i, pattern, plen) != 0) {
            continue;
        }
        size_t at = i + plen;
        while (at < len && (json[at] == ' ' || json[at] == '\t' || json[at] == '\n' || json[at] == '\r')) {
            at++;
        }
        if (at < len && json[at] == ':') {
            at++;
            while (at < len && (json[at] == ' ' || json[at] == '\t' || json[at] == '\n' || json[at] == '\r')) {
                at++;
            }
            return json + at;
        }
    }
    return NULL;
}

/* The first key of the top-level object other than `column` and `min`, copied into `out`
 * (cut short to its size), or 0 when every key is one of those: a configuration that holds
 * another is refused, as a Rust operator's serde refuses it, not ignored. */
static int unknown_key(const char *json, size_t len, char *out, size_t out_size) {
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        if (json[i] == '{' || json[i] == '[') {
            depth++;
        } else if (json[i] == '}' || json[i] == ']') {
            depth--;
        } else if (json[i] == '"') {
            size_t start = ++i;
            while (i < len && json[i] != '"') {
                i += json[i] == '\\' ? 2 : 1;
            }
            if (i >= len) {
                return 0;
            }
            size_t end = i;
            size_t at = i + 1;
            while (at < len && (json[at] == ' ' || json[at] == '\t' || json[at] == '\n' || json[at] == '\r')) {
                at++;
            }
            size_t n = end - start;
            int known = (n == 6 && memcmp(json + start, "column", 6) == 0) ||
                        (n == 3 && memcmp(json + start, "min", 3) == 0);
            if (depth == 1 && at < len && json[at] == ':' && !known) {
                if (n + 1 > out_size) {
                    n = out_size - 1;
                }
                memcpy(out, json + start, n);
                out[n] = '\0';
                return 1;
            }
        }
    }
    return 0;
}

/* ---- Schemas ------------------------------------------------------------------------ */

/* A deep copy of an ArrowSchema that this library owns (output batches refer to it). */
static char *copy_string(const char *text) {
    if (text == NULL) {
        return NULL;
    }
    size_t len = strlen(text) + 1;
    char *copy = malloc(len);
    if (copy != NULL) {
        memcpy(copy, text, len);
    }
    return copy;
}

static size_t metadata_size(const char *metadata) {
    if (metadata == NULL) {
        return 0;
    }
    int32_t count, len;
    size_t at = sizeof count;
    memcpy(&count, metadata, sizeof count);
    for (int32_t i = 0; i < 2 * count; i++) {
        memcpy(&len, metadata + at, sizeof len);
        at += sizeof len + (size_t)len;
    }
    return at;
}

static void release_schema(struct ArrowSchema *schema) {
    for (int64_t i = 0; i < schema->n_children; i++) {
        struct ArrowSchema *child = schema->children[i];
        if (child->release != NULL) {
            child->release(child);
        }
        free(child);
    }
    free(schema->children);
    if (schema->dictionary != NULL) {
        if (schema->dictionary->release != NULL) {
            schema->dictionary->release(schema->dictionary);
        }
        free(schema->dictionary);
    }
    free((void *)schema->format);
    free((void *)schema->name);
    free((void *)schema->metadata);
    schema->release = NULL;
}

static int copy_schema(const struct ArrowSchema *from, struct ArrowSchema *to) {
    memset(to, 0, sizeof *to);
    to->format = copy_string(from->format);
    to->name = copy_string(from->name);
    size_t meta = metadata_size(from->metadata);
    if (meta > 0) {
        char *copy = malloc(meta);
        if (copy == NULL) {
            return -1;
        }
        memcpy(copy, from->metadata, meta);
        to->metadata = copy;
    }
    to->flags = from->flags;
    to->release = release_schema;
    if (from->n_children > 0) {
        to->children = calloc((size_t)from->n_children, sizeof *to->children);
        if (to->children == NULL) {
            return -1;
        }
        for (int64_t i = 0; i < from->n_children; i++) {
            to->children[i] = malloc(sizeof **to->children);
            if (to->children[i] == NULL || copy_schema(from->children[i], to->children[i]) != 0) {
                to->n_children = i + (to->children[i] != NULL);
                return -1;
            }
            to->n_children = i + 1;
        }
    }
    if (from->dictionary != NULL) {
        to->dictionary = malloc(sizeof *to->dictionary);
        if (to->dictionary == NULL || copy_schema(from->dictionary, to->dictionary) != 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- The operator ------------------------------------------------------------------- */

typedef struct {
    struct ArrowSchema *schema; /* our copy, or NULL */
    int64_t column;             /* index of the filtered column in it */
    int sent;                   /* whether the host has our copy under this slot */
} Slot;

typedef struct {
    char column[128];
    int64_t min;
    const OplinkLogTable *log;
    uint8_t log_level;
    Slot slots[OPLINK_MAX_SCHEMA_ID];
    struct ArrowSchema *retired[16]; /* schemas replaced during a call, freed at the next */
    size_t retired_count;
    OplinkAbiDiff *out;              /* what the last call returned */
    size_t out_count;
} Filter;

static void say(Filter *filter, uint8_t level, const char *format, ...) {
    if (filter->log == NULL || level > filter->log_level) {
        return;
    }
    char text[256];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    OplinkStrView target = OPLINK_STR("c_filter");
    OplinkStrView message = {(const uint8_t *)text, strlen(text)};
    OplinkErrorOut err;
    uint8_t unit;
    memset(&err, 0, sizeof err);
    if (filter->log->message(filter->log->header.context, level, target, message, &unit, &err) != OPLINK_STATUS_OK) {
        if (err.message.release != NULL) {
            err.message.release(&err.message);
        }
        if (err.file.release != NULL) {
            err.file.release(&err.file);
        }
    }
}

static void release_taken(struct ArrowArray *array) {
    if (array->release != NULL) {
        array->release(array);
    }
}

/* Frees what the last call returned that the host did not take. */
static void clear_output(Filter *filter) {
    for (size_t i = 0; i < filter->out_count; i++) {
        release_taken(&filter->out[i].pre.columns);
        release_taken(&filter->out[i].pre.row_numbers);
        release_taken(&filter->out[i].post.columns);
        release_taken(&filter->out[i].post.row_numbers);
    }
    free(filter->out);
    filter->out = NULL;
    filter->out_count = 0;
    for (size_t i = 0; i < filter->retired_count; i++) {
        filter->retired[i]->release(filter->retired[i]);
        free(filter->retired[i]);
    }
    filter->retired_count = 0;
}

static OplinkStatus create(OplinkHostApi const *host, OplinkStrView config, OplinkInstance **out,
                           OplinkErrorOut *err) {
    Filter *filter = calloc(1, sizeof *filter);
    if (filter == NULL) {
        return FAIL(err, OPLINK_STATUS_ERROR, "out of memory");
    }
    const char *json = (const char *)config.ptr;
    char unknown[64];
    if (unknown_key(json, config.len, unknown, sizeof unknown)) {
        free(filter);
        return FAIL(err, OPLINK_STATUS_INVALID_INPUT,
                    "invalid configuration for operator `c_filter`: unknown field `%s`, expected `column` or `min`",
                    unknown);
    }
    const char *column = json_value(json, config.len, "column");
    const char *min = json_value(json, config.len, "min");
    if (column == NULL || *column != '"' || min == NULL) {
        free(filter);
        return FAIL(err, OPLINK_STATUS_INVALID_INPUT,
                    "invalid configuration for operator `c_filter`: expected {\"column\": \"...\", \"min\": N}, got %.*s",
                    (int)config.len, json);
    }
    size_t i = 0;
    for (column++; column < json + config.len && *column != '"' && i + 1 < sizeof filter->column; column++) {
        filter->column[i++] = *column;
    }
    char *end = NULL;
    filter->min = strtoll(min, &end, 10);
    if (end == min) {
        free(filter);
        return FAIL(err, OPLINK_STATUS_INVALID_INPUT,
                    "invalid configuration for operator `c_filter` at `min`: expected an integer");
    }
    if (host != NULL && host->size >= offsetof(OplinkHostApi, lookup_service) + sizeof host->lookup_service &&
        host->lookup_service != NULL) {
        const void *table = NULL;
        OplinkErrorOut lookup_err;
        memset(&lookup_err, 0, sizeof lookup_err);
        OplinkStrView name = OPLINK_STR(OPLINK_LOG_NAME);
        if (host->lookup_service(host, name, OPLINK_LOG_FINGERPRINT, &table, &lookup_err) != OPLINK_STATUS_OK) {
            OplinkStatus status = FAIL(err, OPLINK_STATUS_ERROR, "the host has no usable `oplink.Log`: %.*s",
                                       (int)lookup_err.message.len, (const char *)lookup_err.message.ptr);
            if (lookup_err.message.release != NULL) {
                lookup_err.message.release(&lookup_err.message);
            }
            if (lookup_err.file.release != NULL) {
                lookup_err.file.release(&lookup_err.file);
            }
            free(filter);
            return status;
        }
        filter->log = table;
        OplinkErrorOut level_err;
        memset(&level_err, 0, sizeof level_err);
        if (filter->log->max_level(filter->log->header.context, &filter->log_level, &level_err) != OPLINK_STATUS_OK) {
            filter->log_level = OPLINK_LOG_OFF;
        }
    }
    say(filter, OPLINK_LOG_INFO, "keeping the rows whose `%s` is at least %lld", filter->column,
        (long long)filter->min);
    *out = (OplinkInstance *)filter;
    return OPLINK_STATUS_OK;
}

static OplinkStatus destroy(OplinkInstance *instance, OplinkErrorOut *err) {
    (void)err;
    Filter *filter = (Filter *)instance;
    clear_output(filter);
    for (size_t i = 0; i < OPLINK_MAX_SCHEMA_ID; i++) {
        if (filter->slots[i].schema != NULL) {
            filter->slots[i].schema->release(filter->slots[i].schema);
            free(filter->slots[i].schema);
        }
    }
    free(filter);
    return OPLINK_STATUS_OK;
}

/* ---- Filtering Arrow arrays ----------------------------------------------------------- */

/* What one output array owns: its buffers, its children and the list of their pointers. */
typedef struct {
    const void *buffers[3];
    struct ArrowArray **children;
} Owned;

static void release_array(struct ArrowArray *array) {
    Owned *owned = array->private_data;
    for (int64_t i = 0; i < array->n_children; i++) {
        if (owned->children[i] != NULL) { /* NULL when allocating it failed */
            release_taken(owned->children[i]);
            free(owned->children[i]);
        }
    }
    free(owned->children);
    for (int i = 0; i < 3; i++) {
        free((void *)owned->buffers[i]);
    }
    free(owned);
    array->release = NULL;
}

static int bit(const void *bits, int64_t index) {
    return bits == NULL || ((((const uint8_t *)bits)[index / 8] >> (index % 8)) & 1);
}

static void set_bit(uint8_t *bits, int64_t index) {
    bits[index / 8] |= (uint8_t)(1u << (index % 8));
}

/* Width in bytes of a fixed-width format, 0 for booleans, -1 for strings with 32-bit
 * offsets, -2 with 64-bit offsets, -3 for anything else. */
static int width_of(const char *format) {
    switch (format[0]) {
    case 'c': case 'C': return 1;
    case 's': case 'S': case 'e': return 2;
    case 'i': case 'I': case 'f': return 4;
    case 'l': case 'L': case 'g': return 8;
    case 'b': return 0;
    case 'u': case 'z': return format[1] == '\0' ? -1 : -3;
    case 'U': case 'Z': return format[1] == '\0' ? -2 : -3;
    case 't':
        if (format[1] == 'd') return format[2] == 'D' ? 4 : 8;               /* tdD, tdm */
        if (format[1] == 't') return (format[2] == 's' || format[2] == 'm') ? 4 : 8; /* times */
        if (format[1] == 's' || format[1] == 'D') return 8;                   /* timestamps, durations */
        return -3;
    default: return -3;
    }
}

/* Copies the rows of `in` (read from `start`, `length` rows) where `keep` is set. */
static int filter_array(const struct ArrowArray *in, const char *format, int64_t start, int64_t length,
                        const uint8_t *keep, int64_t kept, struct ArrowArray *out) {
    int width = width_of(format);
    Owned *owned = calloc(1, sizeof *owned);
    if (owned == NULL || width < -2 || in->n_buffers != (width < 0 ? 3 : 2)) {
        free(owned);
        return -1;
    }
    const void *validity = in->null_count == 0 ? NULL : in->buffers[0];
    int64_t from = start + in->offset;
    uint8_t *bits = NULL;
    int64_t nulls = 0;
    if (validity != NULL) {
        bits = calloc((size_t)(kept + 7) / 8 + 1, 1);
        if (bits == NULL) {
            free(owned);
            return -1;
        }
    }
    if (width > 0) {
        uint8_t *values = malloc((size_t)(kept * width) + 1);
        if (values == NULL) {
            free(bits);
            free(owned);
            return -1;
        }
        const uint8_t *source = in->buffers[1];
        int64_t n = 0;
        for (int64_t i = 0; i < length; i++) {
            if (!keep[i]) continue;
            memcpy(values + n * width, source + (from + i) * width, (size_t)width);
            if (bits != NULL) {
                if (bit(validity, from + i)) set_bit(bits, n); else nulls++;
            }
            n++;
        }
        owned->buffers[1] = values;
    } else if (width == 0) {
        uint8_t *values = calloc((size_t)(kept + 7) / 8 + 1, 1);
        if (values == NULL) {
            free(bits);
            free(owned);
            return -1;
        }
        int64_t n = 0;
        for (int64_t i = 0; i < length; i++) {
            if (!keep[i]) continue;
            if (bit(in->buffers[1], from + i)) set_bit(values, n);
            if (bits != NULL) {
                if (bit(validity, from + i)) set_bit(bits, n); else nulls++;
            }
            n++;
        }
        owned->buffers[1] = values;
    } else {
        int wide = width == -2;
        size_t offset_size = wide ? 8 : 4;
        void *offsets = calloc((size_t)kept + 1, offset_size);
        int64_t total = 0;
        for (int64_t i = 0; i < length; i++) {
            if (!keep[i]) continue;
            int64_t a, b;
            if (wide) {
                a = ((const int64_t *)in->buffers[1])[from + i];
                b = ((const int64_t *)in->buffers[1])[from + i + 1];
            } else {
                a = ((const int32_t *)in->buffers[1])[from + i];
                b = ((const int32_t *)in->buffers[1])[from + i + 1];
            }
            total += b - a;
        }
        uint8_t *data = malloc((size_t)total + 1);
        if (offsets == NULL || data == NULL) {
            free(offsets);
            free(data);
            free(bits);
            free(owned);
            return -1;
        }
        int64_t n = 0, at = 0;
        for (int64_t i = 0; i < length; i++) {
            if (!keep[i]) continue;
            int64_t a, b;
            if (wide) {
                a = ((const int64_t *)in->buffers[1])[from + i];
                b = ((const int64_t *)in->buffers[1])[from + i + 1];
            } else {
                a = ((const int32_t *)in->buffers[1])[from + i];
                b = ((const int32_t *)in->buffers[1])[from + i + 1];
            }
            memcpy(data + at, (const uint8_t *)in->buffers[2] + a, (size_t)(b - a));
            at += b - a;
            if (wide) ((int64_t *)offsets)[n + 1] = at; else ((int32_t *)offsets)[n + 1] = (int32_t)at;
            if (bits != NULL) {
                if (bit(validity, from + i)) set_bit(bits, n); else nulls++;
            }
            n++;
        }
        owned->buffers[1] = offsets;
        owned->buffers[2] = data;
    }
    if (nulls == 0) {
        free(bits);
        bits = NULL;
    }
    owned->buffers[0] = bits;
    memset(out, 0, sizeof *out);
    out->length = kept;
    out->null_count = nulls;
    out->n_buffers = width < 0 ? 3 : 2;
    out->buffers = owned->buffers;
    out->release = release_array;
    out->private_data = owned;
    return 0;
}

/* A struct array of the kept rows of `in` (a batch), with the same schema. */
static int filter_batch(const struct ArrowArray *in, const struct ArrowSchema *schema, const uint8_t *keep,
                        int64_t kept, struct ArrowArray *out, OplinkErrorOut *err, OplinkStatus *status) {
    Owned *owned = calloc(1, sizeof *owned);
    if (owned == NULL) {
        *status = FAIL(err, OPLINK_STATUS_ERROR, "out of memory");
        return -1;
    }
    owned->children = calloc((size_t)in->n_children + 1, sizeof *owned->children);
    if (owned->children == NULL || in->n_children != schema->n_children) {
        free(owned->children);
        free(owned);
        *status = FAIL(err, OPLINK_STATUS_INVALID_INPUT, "a batch has %lld columns, its schema %lld",
                       (long long)in->n_children, (long long)schema->n_children);
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->length = kept;
    out->n_buffers = 1;
    out->buffers = owned->buffers;
    out->children = owned->children;
    out->release = release_array;
    out->private_data = owned;
    for (int64_t c = 0; c < in->n_children; c++) {
        owned->children[c] = calloc(1, sizeof **owned->children);
        out->n_children = c + 1;
        if (owned->children[c] == NULL ||
            filter_array(in->children[c], schema->children[c]->format, in->offset, in->length, keep, kept,
                         owned->children[c]) != 0) {
            *status = FAIL(err, OPLINK_STATUS_ERROR, "c_filter cannot copy column `%s` of type `%s`",
                           schema->children[c]->name, schema->children[c]->format);
            return -1;
        }
    }
    return 0;
}

/* Reads `rows`' schema into its slot (taking a copy) and returns the slot. */
static Slot *slot_of(Filter *filter, const OplinkAbiRows *rows, OplinkErrorOut *err, OplinkStatus *status) {
    if (rows->schema_id == 0 || rows->schema_id > OPLINK_MAX_SCHEMA_ID) {
        *status = FAIL(err, OPLINK_STATUS_INVALID_INPUT, "schema id %llu is not a slot",
                       (unsigned long long)rows->schema_id);
        return NULL;
    }
    Slot *slot = &filter->slots[rows->schema_id - 1];
    if (rows->schema != NULL) {
        struct ArrowSchema *copy = malloc(sizeof *copy);
        if (copy == NULL || copy_schema(rows->schema, copy) != 0) {
            *status = FAIL(err, OPLINK_STATUS_ERROR, "out of memory");
            return NULL;
        }
        if (slot->schema != NULL) {
            if (filter->retired_count == sizeof filter->retired / sizeof filter->retired[0]) {
                copy->release(copy);
                free(copy);
                *status = FAIL(err, OPLINK_STATUS_ERROR, "too many schemas replaced in one change");
                return NULL;
            }
            filter->retired[filter->retired_count++] = slot->schema;
        }
        slot->schema = copy;
        slot->sent = 0;
        slot->column = -1;
        for (int64_t c = 0; c < copy->n_children; c++) {
            if (strcmp(copy->children[c]->name, filter->column) == 0) {
                slot->column = c;
            }
        }
    }
    if (slot->schema == NULL) {
        *status = FAIL(err, OPLINK_STATUS_INVALID_INPUT, "batch refers to schema id %llu, which was never sent",
                       (unsigned long long)rows->schema_id);
        return NULL;
    }
    if (slot->column < 0) {
        *status = FAIL(err, OPLINK_STATUS_ERROR, "input has no column `%s`", filter->column);
        return NULL;
    }
    if (strcmp(slot->schema->children[slot->column]->format, "l") != 0) {
        *status = FAIL(err, OPLINK_STATUS_ERROR, "column `%s` is `%s`, expected Int64 (`l`)", filter->column,
                       slot->schema->children[slot->column]->format);
        return NULL;
    }
    return slot;
}

/* The rows of `rows` whose filtered column is at least `min`, as a mask; their count. */
static int64_t mask_of(const Filter *filter, const Slot *slot, const struct ArrowArray *columns, uint8_t *keep) {
    const struct ArrowArray *values = columns->children[slot->column];
    const int64_t *data = values->buffers[1];
    const void *validity = values->null_count == 0 ? NULL : values->buffers[0];
    int64_t kept = 0;
    for (int64_t i = 0; i < columns->length; i++) {
        int64_t at = columns->offset + values->offset + i;
        keep[i] = bit(validity, at) && data[at] >= filter->min;
        kept += keep[i];
    }
    return kept;
}

/* Writes the kept rows of `in` to `out`, with the schema slot the output uses. */
static int emit(Slot *slot, uint64_t id, const struct ArrowArray *columns,
                const struct ArrowArray *numbers, const uint8_t *keep, int64_t kept, OplinkAbiRows *out,
                OplinkErrorOut *err, OplinkStatus *status) {
    memset(out, 0, sizeof *out);
    if (numbers->length != columns->length) {
        *status = FAIL(err, OPLINK_STATUS_INVALID_INPUT, "%lld row numbers for %lld rows",
                       (long long)numbers->length, (long long)columns->length);
        return -1;
    }
    out->schema_id = id;
    if (!slot->sent) {
        out->schema = slot->schema;
        slot->sent = 1;
    }
    if (filter_batch(columns, slot->schema, keep, kept, &out->columns, err, status) != 0) {
        return -1;
    }
    if (filter_array(numbers, "L", 0, columns->length, keep, kept, &out->row_numbers) != 0) {
        *status = FAIL(err, OPLINK_STATUS_INVALID_INPUT, "the row numbers are not a UInt64 array");
        return -1;
    }
    return 0;
}

static void take(struct ArrowArray *from, struct ArrowArray *to) {
    *to = *from;
    from->release = NULL;
}

static OplinkStatus apply(OplinkInstance *instance, OplinkAbiChange *input, OplinkAbiChange *out,
                          OplinkErrorOut *err) {
    Filter *filter = (Filter *)instance;
    clear_output(filter);
    OplinkStatus status = OPLINK_STATUS_OK;
    size_t count = input->diff_count;
    /* Take every array first, so all of them are released whatever happens. */
    struct ArrowArray (*arrays)[4] = calloc(count + 1, sizeof *arrays);
    /* An update may become three diffs. */
    filter->out = calloc(3 * count + 1, sizeof *filter->out);
    if (arrays == NULL || filter->out == NULL) {
        free(arrays);
        /* The input is released all the same, as on every other failure. */
        for (size_t d = 0; d < count; d++) {
            release_taken(&input->diffs[d].pre.columns);
            release_taken(&input->diffs[d].pre.row_numbers);
            release_taken(&input->diffs[d].post.columns);
            release_taken(&input->diffs[d].post.row_numbers);
        }
        return FAIL(err, OPLINK_STATUS_ERROR, "out of memory");
    }
    for (size_t d = 0; d < count; d++) {
        take(&input->diffs[d].pre.columns, &arrays[d][0]);
        take(&input->diffs[d].pre.row_numbers, &arrays[d][1]);
        take(&input->diffs[d].post.columns, &arrays[d][2]);
        take(&input->diffs[d].post.row_numbers, &arrays[d][3]);
    }
    int64_t seen = 0, kept_total = 0;
    for (size_t d = 0; d < count && status == OPLINK_STATUS_OK; d++) {
        const OplinkAbiDiff *diff = &input->diffs[d];
        /* The sides this diff has: 0 is pre (arrays 0 and 1), 1 is post (arrays 2 and 3). */
        int has[2] = {diff->kind != OPLINK_DIFF_INSERT, diff->kind != OPLINK_DIFF_REMOVE};
        if (diff->kind != OPLINK_DIFF_INSERT && diff->kind != OPLINK_DIFF_UPDATE &&
            diff->kind != OPLINK_DIFF_REMOVE) {
            status = FAIL(err, OPLINK_STATUS_INVALID_INPUT, "diff %zu has kind %u", d, diff->kind);
            break;
        }
        Slot *slots[2] = {NULL, NULL};
        const OplinkAbiRows *rows[2] = {&diff->pre, &diff->post};
        for (int side = 0; side < 2 && status == OPLINK_STATUS_OK; side++) {
            if (has[side]) {
                slots[side] = slot_of(filter, rows[side], err, &status);
            }
        }
        if (status != OPLINK_STATUS_OK) break;
        if (has[0] && has[1] && arrays[d][0].length != arrays[d][2].length) {
            status = FAIL(err, OPLINK_STATUS_INVALID_INPUT, "an update has %lld rows before and %lld after",
                          (long long)arrays[d][0].length, (long long)arrays[d][2].length);
            break;
        }
        int64_t length = has[1] ? arrays[d][2].length : arrays[d][0].length;
        /* passes[side][i]: whether row i passes on that side; part[i]: whether it goes into the
         * diff being written. */
        uint8_t *passes[2] = {malloc((size_t)length + 1), malloc((size_t)length + 1)};
        uint8_t *part = malloc((size_t)length + 1);
        if (passes[0] == NULL || passes[1] == NULL || part == NULL) {
            free(passes[0]), free(passes[1]), free(part);
            status = FAIL(err, OPLINK_STATUS_ERROR, "out of memory");
            break;
        }
        for (int side = 0; side < 2; side++) {
            if (has[side]) {
                mask_of(filter, slots[side], &arrays[d][2 * side], passes[side]);
            }
        }
        seen += length;
        /* An insert keeps its passing new rows and a remove its passing old rows. An update
         * becomes up to three diffs, so that downstream sees a consistent filtered view: an
         * update of the rows that pass before and after, a remove of those that passed and
         * no longer do (downstream saw them), an insert of those that pass now and did not
         * (downstream never saw them). */
        const uint32_t kinds[3] = {OPLINK_DIFF_UPDATE, OPLINK_DIFF_REMOVE, OPLINK_DIFF_INSERT};
        for (int k = 0; k < 3 && status == OPLINK_STATUS_OK; k++) {
            uint32_t kind = diff->kind == OPLINK_DIFF_UPDATE ? kinds[k] : diff->kind;
            if (diff->kind != OPLINK_DIFF_UPDATE && k > 0) break;
            int64_t kept = 0;
            for (int64_t i = 0; i < length; i++) {
                int before = has[0] && passes[0][i], after = has[1] && passes[1][i];
                part[i] = kind == OPLINK_DIFF_UPDATE ? before && after
                        : kind == OPLINK_DIFF_REMOVE ? before && (!has[1] || !after)
                                                     : after && (!has[0] || !before);
                kept += part[i];
            }
            if (kept == 0) continue;
            /* Counted before it is written, so that a failure halfway releases what it holds. */
            OplinkAbiDiff *result = &filter->out[filter->out_count++];
            memset(result, 0, sizeof *result);
            result->kind = kind;
            if (kind != OPLINK_DIFF_INSERT &&
                emit(slots[0], diff->pre.schema_id, &arrays[d][0], &arrays[d][1], part, kept,
                     &result->pre, err, &status) != 0) {
                break;
            }
            if (kind != OPLINK_DIFF_REMOVE &&
                emit(slots[1], diff->post.schema_id, &arrays[d][2], &arrays[d][3], part, kept,
                     &result->post, err, &status) != 0) {
                break;
            }
            if (kind != OPLINK_DIFF_REMOVE || diff->kind == OPLINK_DIFF_REMOVE) {
                kept_total += kept; /* not the rows an update stopped passing */
            }
        }
        free(passes[0]), free(passes[1]), free(part);
    }
    for (size_t d = 0; d < count; d++) {
        for (int i = 0; i < 4; i++) {
            release_taken(&arrays[d][i]);
        }
    }
    free(arrays);
    if (status != OPLINK_STATUS_OK) {
        /* Output the host will not read: drop it now, and send its schemas again. */
        clear_output(filter);
        for (size_t i = 0; i < OPLINK_MAX_SCHEMA_ID; i++) {
            filter->slots[i].sent = 0;
        }
        return status;
    }
    say(filter, OPLINK_LOG_DEBUG, "kept %lld of %lld rows", (long long)kept_total, (long long)seen);
    out->version = input->version;
    out->changed_at = input->changed_at;
    out->diffs = filter->out_count > 0 ? filter->out : NULL;
    out->diff_count = filter->out_count;
    return OPLINK_STATUS_OK;
}

static OplinkStatus pull(OplinkInstance *instance, uint64_t const *rows, size_t row_count, OplinkAbiRows *out,
                         OplinkErrorOut *err) {
    (void)instance, (void)rows, (void)row_count, (void)out;
    return FAIL(err, OPLINK_STATUS_ERROR, "it does not implement `pull`");
}

static OplinkStatus tick(OplinkInstance *instance, int64_t now, OplinkAbiChange *out, uint32_t *produced,
                         OplinkErrorOut *err) {
    (void)instance, (void)now, (void)out, (void)err;
    *produced = 0;
    return OPLINK_STATUS_OK;
}

static OplinkStatus flush_state(OplinkInstance *instance, OplinkErrorOut *err) {
    (void)instance, (void)err;
    return OPLINK_STATUS_OK;
}

static OplinkStatus snapshot(OplinkInstance *instance, OplinkOwnedBuf *out, OplinkErrorOut *err) {
    (void)instance, (void)err;
    memset(out, 0, sizeof *out);
    return OPLINK_STATUS_OK;
}

static OplinkStatus restore(OplinkInstance *instance, OplinkBytesView snapshot, OplinkErrorOut *err) {
    (void)instance;
    if (snapshot.len != 0) {
        return FAIL(err, OPLINK_STATUS_ERROR, "it keeps no state, so it cannot accept a snapshot of %zu bytes",
                    snapshot.len);
    }
    return OPLINK_STATUS_OK;
}

/* ---- The descriptor and the entry symbol ---------------------------------------------- */

static const OplinkServiceMethod log_methods[] = OPLINK_LOG_METHODS;

static const OplinkServiceRequirement requires[] = {
    {OPLINK_STR(OPLINK_LOG_NAME), OPLINK_LOG_FINGERPRINT, log_methods, OPLINK_LOG_METHOD_COUNT},
};

static const OplinkOperatorVTable vtable = {
    .size = sizeof(OplinkOperatorVTable),
    .reserved = 0,
    .create = create,
    .destroy = destroy,
    .apply = apply,
    .pull = pull,
    .tick = tick,
    .flush_state = flush_state,
    .snapshot = snapshot,
    .restore = restore,
};

static const OplinkOperatorDescriptor descriptor = {
    .size = sizeof(OplinkOperatorDescriptor),
    .implemented = 0,
    .name = OPLINK_STR("c_filter"),
    .version = OPLINK_STR("1.0.0"),
    .description = OPLINK_STR("Keeps the rows whose Int64 column is at least `min` (written in C)"),
    .vtable = &vtable,
    .requires_ = requires,
    .requires_count = sizeof requires / sizeof requires[0],
#if OPLINK_BUILD_MINOR >= 1
    .panic_strategy = OPLINK_PANIC_UNWIND,
    .reserved = 0,
#endif
};

static const OplinkOperatorDescriptor *const operators[] = {&descriptor};

static const OplinkPluginHeader header = {
    .magic = OPLINK_MAGIC,
    .size = sizeof(OplinkPluginHeader),
    .abi_major = OPLINK_ABI_MAJOR,
    .abi_minor = OPLINK_BUILD_MINOR,
    .layout_fingerprint = OPLINK_LAYOUT_FINGERPRINT,
    .layouts = NULL,
    .layout_count = 0,
    .oplink_version = OPLINK_STR(OPLINK_SDK_VERSION),
    .rustc_version = OPLINK_STR(COMPILER),
    .target = OPLINK_STR(OPLINK_TARGET),
    .profile = OPLINK_STR(OPLINK_PROFILE),
    .panic_strategy = OPLINK_PANIC_UNWIND,
    .reserved = 0,
    .operators = operators,
    .operator_count = sizeof operators / sizeof operators[0],
};

OPLINK_ENTRY const OplinkPluginHeader *oplink_plugin_v2(void) {
    return &header;
}
