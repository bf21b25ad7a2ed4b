/* {{op}}: an oplink operator written in C against oplink.h alone.
 *
 * It passes every change through unchanged, moving the Arrow arrays from its input to its
 * output without copying them, and counts the rows it has seen. Start from here: `apply`
 * is where an operator reads its input (`input->diffs[d].post.columns` is a struct array,
 * one child per column) and builds its output.
 *
 * Build: make (or: cc -std=c11 -shared -fPIC -o lib{{op}}.so {{op}}.c)
 * Check: oplink check ./lib{{op}}.so
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oplink.h"

#ifndef OPLINK_TARGET
#define OPLINK_TARGET "unknown"
#endif
/* The build's profile as `oplink inspect` shows it: optimised or not, unless the build says. */
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

/* ---- Errors: a message the host owns until it calls `release` ---------------------- */

static void release_text(OplinkOwnedBuf *buf) {
    free(buf->ptr);
    buf->ptr = NULL;
    buf->len = 0;
    buf->capacity = 0;
}

/* Writes `status` with a message into the error slot, every field of it (ABI 2.2: the caller
 * need not clear the slot first): the message, no file, no line or column. A message that
 * cannot be allocated is left empty, which the host reports as "no message". */
static OplinkStatus fail(OplinkErrorOut *err, OplinkStatus status, const char *format, ...) {
    char text[512];
    va_list args;
    va_start(args, format);
    vsnprintf(text, sizeof text, format, args);
    va_end(args);
    if (err == NULL) {
        return status;
    }
    OplinkOwnedBuf empty = {NULL, 0, 0, NULL};
    err->message = empty;
    err->file = empty;
    err->line = 0;
    err->column = 0;
    size_t len = strlen(text);
    uint8_t *copy = malloc(len + 1);
    if (copy != NULL) {
        memcpy(copy, text, len + 1);
        err->message.ptr = copy;
        err->message.len = len;
        err->message.capacity = len + 1;
        err->message.release = release_text;
    }
    return status;
}

/* ---- Schemas: the host lends them for a call, so the operator keeps copies ----------- */

static char *copy_text(const char *text) {
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

/* The size of an ArrowSchema's metadata: a count, then length-prefixed keys and values. */
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
        if (schema->children[i]->release != NULL) {
            schema->children[i]->release(schema->children[i]);
        }
        free(schema->children[i]);
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

/* A deep copy of `from` into `to`; on failure `to` is still releasable. */
static int copy_schema(const struct ArrowSchema *from, struct ArrowSchema *to) {
    memset(to, 0, sizeof *to);
    to->release = release_schema;
    to->flags = from->flags;
    to->format = copy_text(from->format);
    to->name = copy_text(from->name);
    size_t meta = metadata_size(from->metadata);
    if (meta > 0 && (to->metadata = malloc(meta)) != NULL) {
        memcpy((void *)to->metadata, from->metadata, meta);
    }
    if (to->format == NULL || (meta > 0 && to->metadata == NULL)) {
        return -1;
    }
    if (from->n_children > 0) {
        to->children = calloc((size_t)from->n_children, sizeof *to->children);
        if (to->children == NULL) {
            return -1;
        }
        for (int64_t i = 0; i < from->n_children; i++) {
            to->children[i] = malloc(sizeof **to->children);
            if (to->children[i] == NULL) {
                return -1;
            }
            to->n_children = i + 1;
            if (copy_schema(from->children[i], to->children[i]) != 0) {
                return -1;
            }
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

static void free_schema(struct ArrowSchema *schema) {
    if (schema != NULL) {
        if (schema->release != NULL) {
            schema->release(schema);
        }
        free(schema);
    }
}

/* ---- The operator --------------------------------------------------------------------- */

typedef struct {
    struct ArrowSchema *schemas[OPLINK_MAX_SCHEMA_ID + 1]; /* copies, by schema id */
    int sent[OPLINK_MAX_SCHEMA_ID + 1];                    /* the host has our copy */
    struct ArrowSchema **retired; /* copies replaced during a call, freed at the next */
    size_t retired_count;
    OplinkAbiDiff *out; /* what the last call returned: valid until the next call */
    uint64_t rows;      /* rows seen so far */
} Operator;

static void release_array(struct ArrowArray *array) {
    if (array->release != NULL) {
        array->release(array);
    }
}

static void release_rows(OplinkAbiRows *rows) {
    release_array(&rows->columns);
    release_array(&rows->row_numbers);
}

/* Forgets what the last call returned (the host has taken its arrays). */
static void clear_output(Operator *op) {
    free(op->out);
    op->out = NULL;
    for (size_t i = 0; i < op->retired_count; i++) {
        free_schema(op->retired[i]);
    }
    free(op->retired);
    op->retired = NULL;
    op->retired_count = 0;
}

/* Whether `config` (the JSON text of the configuration) is no configuration: `null`, `{}`
 * or nothing, whitespace aside. An operator that takes options parses them here instead. */
static int is_no_config(OplinkStrView config) {
    char text[5];
    size_t n = 0;
    for (size_t i = 0; i < config.len; i++) {
        char c = (char)config.ptr[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            continue;
        }
        if (n == sizeof text - 1) {
            return 0;
        }
        text[n++] = c;
    }
    text[n] = '\0';
    return n == 0 || strcmp(text, "null") == 0 || strcmp(text, "{}") == 0;
}

static OplinkStatus create(OplinkHostApi const *host, OplinkStrView config, OplinkInstance **out,
                           OplinkErrorOut *err) {
    (void)host;
    if (!is_no_config(config)) {
        /* INVALID_INPUT: the host reports a refused configuration, not a failed `new`. */
        return fail(err, OPLINK_STATUS_INVALID_INPUT,
                    "invalid configuration for operator `{{op}}`: it takes no configuration (pass `null` or `{}`), but was given %.*s",
                    (int)(config.len > 200 ? 200 : config.len), (const char *)config.ptr);
    }
    Operator *op = calloc(1, sizeof *op);
    if (op == NULL) {
        return fail(err, OPLINK_STATUS_ERROR, "out of memory");
    }
    *out = (OplinkInstance *)op;
    return OPLINK_STATUS_OK;
}

static OplinkStatus destroy(OplinkInstance *instance, OplinkErrorOut *err) {
    (void)err;
    Operator *op = (Operator *)instance;
    clear_output(op);
    for (size_t i = 0; i <= OPLINK_MAX_SCHEMA_ID; i++) {
        free_schema(op->schemas[i]);
    }
    free(op);
    return OPLINK_STATUS_OK;
}

/* Moves one side of a diff from the input to the output, keeping a copy of its schema. */
static OplinkStatus forward(Operator *op, OplinkAbiRows *in, OplinkAbiRows *out, OplinkErrorOut *err) {
    memset(out, 0, sizeof *out);
    if (in->schema_id == 0) {
        return OPLINK_STATUS_OK; /* the absent side of an insert or a remove */
    }
    uint64_t id = in->schema_id;
    if (id > OPLINK_MAX_SCHEMA_ID) {
        return fail(err, OPLINK_STATUS_INVALID_INPUT, "schema id %llu is out of range", (unsigned long long)id);
    }
    if (in->schema != NULL) {
        struct ArrowSchema *copy = malloc(sizeof *copy);
        struct ArrowSchema **retired = realloc(op->retired, (op->retired_count + 1) * sizeof *retired);
        if (retired != NULL) {
            op->retired = retired;
        }
        if (copy == NULL || retired == NULL || copy_schema(in->schema, copy) != 0) {
            free_schema(copy);
            return fail(err, OPLINK_STATUS_ERROR, "out of memory");
        }
        if (op->schemas[id] != NULL) {
            op->retired[op->retired_count++] = op->schemas[id];
        }
        op->schemas[id] = copy;
        op->sent[id] = 0;
    }
    if (op->schemas[id] == NULL) {
        return fail(err, OPLINK_STATUS_INVALID_INPUT, "a batch refers to schema id %llu, which was never sent",
                    (unsigned long long)id);
    }
    out->schema_id = id;
    if (!op->sent[id]) {
        out->schema = op->schemas[id];
        op->sent[id] = 1;
    }
    out->columns = in->columns;
    in->columns.release = NULL;
    out->row_numbers = in->row_numbers;
    in->row_numbers.release = NULL;
    return OPLINK_STATUS_OK;
}

static OplinkStatus apply(OplinkInstance *instance, OplinkAbiChange *input, OplinkAbiChange *out,
                          OplinkErrorOut *err) {
    Operator *op = (Operator *)instance;
    clear_output(op);
    size_t count = input->diff_count;
    OplinkStatus status = OPLINK_STATUS_OK;
    op->out = calloc(count + 1, sizeof *op->out);
    if (op->out == NULL) {
        status = fail(err, OPLINK_STATUS_ERROR, "out of memory");
    }
    size_t d = 0;
    for (; d < count && status == OPLINK_STATUS_OK; d++) {
        OplinkAbiDiff *in = &input->diffs[d];
        op->out[d].kind = in->kind;
        status = forward(op, &in->pre, &op->out[d].pre, err);
        if (status == OPLINK_STATUS_OK) {
            status = forward(op, &in->post, &op->out[d].post, err);
        }
        op->rows += (uint64_t)(in->kind == OPLINK_DIFF_REMOVE ? op->out[d].pre.columns.length
                                                              : op->out[d].post.columns.length);
    }
    if (status != OPLINK_STATUS_OK) {
        /* The arrays moved to this side either way: release every one, and send the
         * schemas again next time. */
        for (size_t i = 0; i < count; i++) {
            release_rows(&input->diffs[i].pre);
            release_rows(&input->diffs[i].post);
            if (op->out != NULL) {
                release_rows(&op->out[i].pre);
                release_rows(&op->out[i].post);
            }
        }
        memset(op->sent, 0, sizeof op->sent);
        return status;
    }
    out->version = input->version;
    out->changed_at = input->changed_at;
    out->diffs = count > 0 ? op->out : NULL;
    out->diff_count = count;
    return OPLINK_STATUS_OK;
}

static OplinkStatus pull(OplinkInstance *instance, uint64_t const *rows, size_t row_count, OplinkAbiRows *out,
                         OplinkErrorOut *err) {
    (void)instance, (void)rows, (void)row_count, (void)out;
    return fail(err, OPLINK_STATUS_ERROR, "it does not implement `pull`");
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
        return fail(err, OPLINK_STATUS_ERROR, "it keeps no state, so it cannot accept a snapshot of %zu bytes",
                    snapshot.len);
    }
    return OPLINK_STATUS_OK;
}

/* ---- What the host reads: the descriptor, the header and the entry symbol ------------ */

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
    .implemented = 0, /* OPLINK_IMPLEMENTS_* bits of the optional methods written above */
    .name = OPLINK_STR("{{op}}"),
    .version = OPLINK_STR("0.1.0"),
    .description = OPLINK_STR("Passes every change through unchanged (written in C)"),
    .vtable = &vtable,
    .requires_ = NULL,
    .requires_count = 0,
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
