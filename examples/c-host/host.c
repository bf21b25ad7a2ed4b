/* c-host: an oplink host written in C against oplink.h and docs/abi.md alone.
 *
 *   c-host LIBRARY                    lists the library's operators
 *   c-host LIBRARY OPERATOR CONFIG    creates OPERATOR with the JSON CONFIG, applies two
 *                                     changes to it (an insert of 4 rows, then an update
 *                                     of 2 of them), prints what it returns, destroys it
 *
 * What an engine written in C does to embed oplink operators: open the library, check its
 * header, offer the standard host services, build changes as Arrow C Data Interface arrays
 * and read the ones the operator returns. Every message goes to standard error and names
 * the library or the operator; the exit code is 0 when everything worked, 1 when the
 * library or an operator call failed, 2 for a wrong command line.
 */
#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oplink.h"

/* ---- Memory and text --------------------------------------------------- */

/* Zeroed memory. Out of memory, this host gives up: there is nothing sensible to do in an
 * example. */
static void *alloc(size_t size) {
    void *p = calloc(1, size == 0 ? 1 : size);
    if (p == NULL) {
        fputs("c-host: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

/* The length of the well-formed UTF-8 sequence at the start of the `len` bytes at `s`
 * (`len` > 0), or 0 when they start with none (a stray byte, an overlong form, a
 * surrogate, a point past U+10FFFF, a sequence cut short). */
static size_t utf8_sequence(const uint8_t *s, size_t len) {
    uint8_t c = s[0];
    /* How many continuation bytes follow the lead byte `c` (4: it leads none). */
    size_t extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : 4;
    if (extra == 4 || extra >= len) {
        return 0;
    }
    uint32_t point = extra == 0 ? c : (uint32_t)(c & (0x3f >> extra));
    for (size_t k = 1; k <= extra; k++) {
        if ((s[k] & 0xc0) != 0x80) {
            return 0;
        }
        point = (point << 6) | (s[k] & 0x3f);
    }
    static const uint32_t least[] = {0, 0x80, 0x800, 0x10000};
    if (point < least[extra] || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) {
        return 0;
    }
    return extra + 1;
}

/* Prints text a plugin gave, which may hold anything, on one line and unambiguously: a
 * line break as `\n`, a backslash as `\\`, and every other control character (C0, DEL,
 * C1) and every byte that is not part of well-formed UTF-8 as `\xNN`, byte by byte. */
static void print_text(FILE *out, const uint8_t *ptr, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t c = ptr[i];
        size_t n = utf8_sequence(ptr + i, len - i);
        /* U+0080 to U+009F, the C1 controls, are C2 80 to C2 9F. */
        bool control = n == 0 || c < 0x20 || c == 0x7f || (n == 2 && c == 0xc2 && ptr[i + 1] < 0xa0);
        if (c == '\n') {
            fputs("\\n", out);
        } else if (c == '\\') {
            fputs("\\\\", out);
        } else if (control) {
            /* Escaped byte by byte: a C1 control's two bytes too. */
            for (size_t k = 0; k < (n == 0 ? 1 : n); k++) {
                fprintf(out, "\\x%02x", ptr[i + k]);
            }
        } else {
            fwrite(ptr + i, 1, n, out);
        }
        i += n == 0 ? 1 : n;
    }
}

static void print_view(FILE *out, OplinkStrView view) { print_text(out, view.ptr, view.len); }

/* The reader validates UTF-8 (docs/abi.md, "Validation"): a view with a length has a
 * pointer, and its bytes are well-formed UTF-8. */
static bool utf8_valid(OplinkStrView view) {
    if (view.len > 0 && view.ptr == NULL) {
        return false;
    }
    for (size_t i = 0; i < view.len;) {
        size_t n = utf8_sequence(view.ptr + i, view.len - i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

static bool view_is(OplinkStrView view, const char *text) {
    size_t len = strlen(text);
    return view.len == len && (len == 0 || (view.ptr != NULL && memcmp(view.ptr, text, len) == 0));
}

/* A view's text as print_text shows it, in a string of its own (freed by the caller), for
 * a message formatted with `%s`. */
static char *escaped(OplinkStrView view) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (out == NULL) {
        fputs("c-host: out of memory\n", stderr);
        exit(1);
    }
    if (view.len == 0 || view.ptr != NULL) {
        print_view(out, view);
    }
    fclose(out);
    return text;
}

/* ---- The error slot ---------------------------------------------------- */

/* Calls an owned buffer's release once: taken out first, so that it runs once, as the
 * docs say ("Calls": the receiver passes the struct with `release` already null). */
static void release_buf(OplinkOwnedBuf *buf) {
    OplinkReleaseBufFn release = buf->release;
    buf->release = NULL;
    if (release != NULL) {
        release(buf);
    }
}

/* A slot to pass to a plugin: zeroed, since plugins of minors before 2.2 may write only
 * some of its fields. */
static OplinkErrorOut error_slot(void) {
    OplinkErrorOut err;
    memset(&err, 0, sizeof err);
    return err;
}

/* Prints a failed call's message and location, then releases the slot's buffers. */
static void print_error(FILE *out, OplinkErrorOut *err) {
    if (err->message.len == 0 || err->message.ptr == NULL) {
        fputs("(the operator gave no message)", out);
    } else {
        print_text(out, err->message.ptr, err->message.len);
    }
    if (err->file.len > 0 && err->file.ptr != NULL) {
        fputs(" (at ", out);
        print_text(out, err->file.ptr, err->file.len);
        fprintf(out, ":%u:%u)", (unsigned)err->line, (unsigned)err->column);
    }
    release_buf(&err->message);
    release_buf(&err->file);
}

/* Whether an operator's message already names it in backquotes, as a Rust operator's
 * configuration error does ("invalid configuration for operator `threshold` at ..."). */
static bool names_operator(const OplinkErrorOut *err, const char *op) {
    size_t len = strlen(op);
    const uint8_t *m = err->message.ptr;
    for (size_t i = 0; m != NULL && i + len + 2 <= err->message.len; i++) {
        if (m[i] == '`' && memcmp(m + i + 1, op, len) == 0 && m[i + len + 1] == '`') {
            return true;
        }
    }
    return false;
}

/* Reports a call of `method` on operator `op` that did not return OK, in the words of
 * docs/abi.md, "Calls"; returns whether the instance is poisoned (then only `destroy` may
 * be called on it). */
static bool report_failure(const char *op, const char *method, OplinkStatus status, OplinkErrorOut *err) {
    switch (status) {
    case OPLINK_STATUS_ERROR:
        fprintf(stderr, "c-host: operator `%s` failed in `%s`: ", op, method);
        break;
    case OPLINK_STATUS_PANIC:
        fprintf(stderr, "c-host: operator `%s` panicked in `%s`: ", op, method);
        break;
    case OPLINK_STATUS_INVALID_INPUT:
        if (strcmp(method, "new") == 0) {
            fputs("c-host: ", stderr);
            if (!names_operator(err, op)) {
                fprintf(stderr, "operator `%s` refused its configuration: ", op);
            }
        } else {
            fprintf(stderr, "c-host: operator `%s` could not read its input in `%s`: ", op, method);
        }
        break;
    default:
        /* The error slot is not read for an unknown status. */
        fprintf(stderr, "c-host: operator `%s` answered `%s` with the unknown status %u; it is poisoned\n", op,
                method, (unsigned)status);
        return true;
    }
    print_error(stderr, err);
    fputc('\n', stderr);
    return status == OPLINK_STATUS_PANIC;
}

/* ---- The host's services ----------------------------------------------- */

/* What the service tables' context points at. */
typedef struct {
    uint8_t log_level;
} Host;

static void free_owned(OplinkOwnedBuf *buf) { free(buf->ptr); }

/* Writes every field of a slot the host answers a plugin's call with, as a callee must:
 * the message (formatted as printf does) in a buffer that the plugin releases through
 * `free_owned`, so that this host's allocator frees it. */
static OplinkStatus host_fails(OplinkErrorOut *err, OplinkStatus status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int len = vsnprintf(NULL, 0, format, args);
    va_end(args);
    uint8_t *text = alloc((size_t)(len < 0 ? 0 : len) + 1);
    va_start(args, format);
    vsnprintf((char *)text, (size_t)(len < 0 ? 0 : len) + 1, format, args);
    va_end(args);
    size_t length = strlen((const char *)text);
    err->message = (OplinkOwnedBuf){text, length, length + 1, free_owned};
    err->file = (OplinkOwnedBuf){NULL, 0, 0, NULL};
    err->line = 0;
    err->column = 0;
    return status;
}

static const char *const LEVELS[] = {"TRACE", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"};

/* A level of 0 or above TRACE is taken as TRACE (docs/abi.md, "Host services"). */
static uint8_t known_level(uint8_t level) { return level == 0 || level > OPLINK_LOG_TRACE ? OPLINK_LOG_TRACE : level; }

static OplinkStatus log_max_level(void const *context, uint8_t *out, OplinkErrorOut *err) {
    if (out == NULL) {
        return host_fails(err, OPLINK_STATUS_INVALID_INPUT, "`max_level` was given no place for its result");
    }
    *out = ((const Host *)context)->log_level;
    return OPLINK_STATUS_OK;
}

static OplinkStatus log_message(void const *context, uint8_t level, OplinkStrView target, OplinkStrView text,
                                uint8_t *out, OplinkErrorOut *err) {
    if (out == NULL || !utf8_valid(target) || !utf8_valid(text)) {
        return host_fails(err, OPLINK_STATUS_INVALID_INPUT, "`message` needs UTF-8 text and a place for its result");
    }
    level = known_level(level);
    if (level <= ((const Host *)context)->log_level) {
        fprintf(stderr, "log %s ", LEVELS[level]);
        print_view(stderr, target);
        fputs(": ", stderr);
        print_view(stderr, text);
        fputc('\n', stderr);
    }
    *out = 0;
    return OPLINK_STATUS_OK;
}

/* Reads the `Wire` encoding of `LogEvent` (docs/abi.md, "Host services"). */
typedef struct {
    const uint8_t *at;
    size_t left;
    bool ok;
} Reader;

static const uint8_t *take(Reader *r, size_t n) {
    if (!r->ok || r->left < n) {
        r->ok = false;
        return NULL;
    }
    const uint8_t *at = r->at;
    r->at += n;
    r->left -= n;
    return at;
}

static uint64_t take_u64(Reader *r) {
    const uint8_t *b = take(r, 8);
    uint64_t v = 0;
    for (int i = 7; b != NULL && i >= 0; i--) {
        v = (v << 8) | b[i];
    }
    return v;
}

static uint8_t take_u8(Reader *r) {
    const uint8_t *b = take(r, 1);
    return b == NULL ? 0 : *b;
}

static OplinkStrView take_text(Reader *r) {
    uint64_t len = take_u64(r);
    OplinkStrView text = {NULL, 0};
    if (len > r->left) {
        r->ok = false;
        return text;
    }
    text.ptr = take(r, (size_t)len);
    text.len = (size_t)len;
    if (!utf8_valid(text)) {
        r->ok = false;
    }
    return text;
}

/* Prints one field of an event, ` name=value`; false when it cannot be read. */
static bool print_field(Reader *r, FILE *out) {
    OplinkStrView name = take_text(r);
    uint8_t kind = take_u8(r);
    if (!r->ok) {
        return false;
    }
    fputc(' ', out);
    print_view(out, name);
    fputc('=', out);
    if (kind == 4) {
        print_view(out, take_text(r));
        return r->ok;
    }
    if (kind == 3) {
        fputs(take_u8(r) != 0 ? "true" : "false", out);
        return r->ok;
    }
    uint64_t bits = take_u64(r);
    if (kind == 0) {
        fprintf(out, "%lld", (long long)(int64_t)bits);
    } else if (kind == 1) {
        fprintf(out, "%llu", (unsigned long long)bits);
    } else if (kind == 2) {
        double value;
        memcpy(&value, &bits, sizeof value);
        fprintf(out, "%g", value);
    } else {
        r->ok = false;
    }
    return r->ok;
}

static OplinkStatus log_event(void const *context, OplinkBytesView event, uint8_t *out, OplinkErrorOut *err) {
    Reader r = {event.ptr, event.len, event.len == 0 || event.ptr != NULL};
    uint8_t level = known_level(take_u8(&r));
    OplinkStrView target = take_text(&r);
    (void)take_text(&r); /* the file */
    (void)take_u64(&r);  /* the line */
    OplinkStrView message = take_text(&r);
    uint64_t fields = take_u64(&r);
    if (!r.ok || out == NULL) {
        return host_fails(err, OPLINK_STATUS_INVALID_INPUT, "`event` could not be read as a `LogEvent`");
    }
    *out = 0;
    if (level > ((const Host *)context)->log_level) {
        return OPLINK_STATUS_OK;
    }
    /* Printed into memory first: an event cut short prints nothing. */
    char *line = NULL;
    size_t size = 0;
    FILE *text = open_memstream(&line, &size);
    if (text == NULL) {
        return host_fails(err, OPLINK_STATUS_ERROR, "the host is out of memory");
    }
    fprintf(text, "log %s ", LEVELS[level]);
    print_view(text, target);
    fputs(": ", text);
    print_view(text, message);
    uint64_t printed = 0;
    while (printed < fields && print_field(&r, text)) {
        printed++;
    }
    fclose(text);
    OplinkStatus status = OPLINK_STATUS_OK;
    if (r.ok && r.left == 0) {
        fprintf(stderr, "%s\n", line);
    } else {
        status = host_fails(err, OPLINK_STATUS_INVALID_INPUT, "`event` could not be read as a `LogEvent`");
    }
    free(line);
    return status;
}

#define NO_STATE "c-host keeps no state: run an operator that uses `oplink.State` in a host that has a store"

/* This host keeps no state: every call of `oplink.State` fails, which the docs allow
 * (a Rust operator's `create` needs the table to be there, not to work). */
static OplinkStatus state_get(void const *context, OplinkSliceView key, OplinkOptionOwnedVec *out,
                              OplinkErrorOut *err) {
    (void)context, (void)key, (void)out;
    return host_fails(err, OPLINK_STATUS_ERROR, NO_STATE);
}

static OplinkStatus state_put(void const *context, OplinkSliceView key, OplinkSliceView value, uint8_t *out,
                              OplinkErrorOut *err) {
    (void)context, (void)key, (void)value, (void)out;
    return host_fails(err, OPLINK_STATUS_ERROR, NO_STATE);
}

static OplinkStatus state_delete(void const *context, OplinkSliceView key, uint8_t *out, OplinkErrorOut *err) {
    (void)context, (void)key, (void)out;
    return host_fails(err, OPLINK_STATUS_ERROR, NO_STATE);
}

static OplinkStatus state_scan_prefix(void const *context, OplinkSliceView prefix, OplinkOwnedBuf *out,
                                      OplinkErrorOut *err) {
    (void)context, (void)prefix, (void)out;
    return host_fails(err, OPLINK_STATUS_ERROR, NO_STATE);
}

static OplinkStatus clock_now(void const *context, int64_t *out, OplinkErrorOut *err) {
    (void)context;
    struct timespec now;
    if (out == NULL || clock_gettime(CLOCK_REALTIME, &now) != 0) {
        return host_fails(err, OPLINK_STATUS_ERROR, "the clock cannot be read");
    }
    *out = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    return OPLINK_STATUS_OK;
}

static Host the_host = {OPLINK_LOG_INFO};

static const OplinkLogTable log_table = {
    {sizeof(OplinkLogTable), &the_host}, log_max_level, log_event, log_message};
static const OplinkStateTable state_table = {
    {sizeof(OplinkStateTable), &the_host}, state_get, state_put, state_delete, state_scan_prefix};
static const OplinkClockTable clock_table = {{sizeof(OplinkClockTable), &the_host}, clock_now};

static const OplinkServiceMethod log_methods[] = OPLINK_LOG_METHODS;
static const OplinkServiceMethod state_methods[] = OPLINK_STATE_METHODS;
static const OplinkServiceMethod clock_methods[] = OPLINK_CLOCK_METHODS;

/* The services this host offers. `oplink.Spans` is not among them: it is standard but not
 * required, and a lookup of it may fail (the operator then forwards events only). */
typedef struct {
    const char *name;
    const OplinkServiceMethod *methods;
    size_t method_count;
    const void *table;
} Service;

static const Service services[] = {
    {OPLINK_LOG_NAME, log_methods, OPLINK_LOG_METHOD_COUNT, &log_table},
    {OPLINK_STATE_NAME, state_methods, OPLINK_STATE_METHOD_COUNT, &state_table},
    {OPLINK_CLOCK_NAME, clock_methods, OPLINK_CLOCK_METHOD_COUNT, &clock_table},
};
#define SERVICE_COUNT (sizeof services / sizeof services[0])

/* 64-bit FNV-1a, the hash of every oplink fingerprint. */
static uint64_t fnv1a(uint64_t hash, const void *bytes, size_t len) {
    for (size_t i = 0; i < len; i++) {
        hash = (hash ^ ((const uint8_t *)bytes)[i]) * 0x100000001b3ull;
    }
    return hash;
}

/* A service's fingerprint over its first `count` methods: FNV-1a over
 * `oplink-service-v2`, a zero byte, the name, then each method's fingerprint (8 bytes,
 * little-endian). A plugin built before methods were appended has one of these. */
static uint64_t service_fingerprint(OplinkStrView name, const OplinkServiceMethod *methods, size_t count) {
    static const char tag[] = "oplink-service-v2"; /* with its terminating zero byte */
    uint64_t hash = fnv1a(0xcbf29ce484222325ull, tag, sizeof tag);
    hash = fnv1a(hash, name.ptr, name.len);
    for (size_t i = 0; i < count; i++) {
        uint8_t le[8];
        for (int b = 0; b < 8; b++) {
            le[b] = (uint8_t)(methods[i].fingerprint >> (8 * b));
        }
        hash = fnv1a(hash, le, sizeof le);
    }
    return hash;
}

/* The service named `name` whose first methods a plugin with `fingerprint` was built
 * against, or NULL. */
static const Service *find_service(OplinkStrView name, uint64_t fingerprint) {
    for (size_t s = 0; s < SERVICE_COUNT; s++) {
        if (!view_is(name, services[s].name)) {
            continue;
        }
        for (size_t n = services[s].method_count; n > 0; n--) {
            if (service_fingerprint(name, services[s].methods, n) == fingerprint) {
                return &services[s];
            }
        }
    }
    return NULL;
}

/* What this host offers, for messages. */
#define OFFERED "it provides oplink.Log, oplink.State and oplink.Clock, at the fingerprints of oplink.h"

static OplinkStatus lookup_service(OplinkHostApi const *host, OplinkStrView name, uint64_t fingerprint,
                                   void const **out, OplinkErrorOut *err) {
    (void)host;
    if (out == NULL || (uintptr_t)out % OPLINK_ALIGNOF(void const *) != 0) {
        return host_fails(err, OPLINK_STATUS_INVALID_INPUT, "`lookup_service` was given no place for the table");
    }
    if (!utf8_valid(name)) {
        return host_fails(err, OPLINK_STATUS_INVALID_INPUT, "`lookup_service` was given a name that is not UTF-8");
    }
    const Service *service = find_service(name, fingerprint);
    if (service == NULL) {
        char *shown = escaped(name);
        OplinkStatus status = host_fails(err, OPLINK_STATUS_ERROR,
                                         "c-host provides no service `%s` of fingerprint 0x%016llx: " OFFERED, shown,
                                         (unsigned long long)fingerprint);
        free(shown);
        return status;
    }
    *out = service->table;
    return OPLINK_STATUS_OK;
}

/* ---- Loading a library ------------------------------------------------- */

/* Says why the library at `path` is refused; always false, for `return refuse(...)`. */
static bool refuse(const char *path, const char *format, ...) {
    va_list args;
    va_start(args, format);
    fprintf(stderr, "c-host: cannot use `%s`: ", path);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    return false;
}

/* Finds the entry symbol, naming another major's when that is what the library exports. */
static OplinkEntryFn find_entry(const char *path, void *library) {
    void *symbol = dlsym(library, OPLINK_ENTRY_SYMBOL);
    if (symbol == NULL) {
        /* oplink's host looks for majors 1 to 16. */
        for (int major = 1; major <= 16; major++) {
            char name[32];
            snprintf(name, sizeof name, "oplink_plugin_v%d", major);
            if (major != OPLINK_ABI_MAJOR && dlsym(library, name) != NULL) {
                refuse(path, "it was built for oplink ABI %d (it exports `%s`), and this host reads ABI %d: rebuild "
                       "it against this host's oplink.h", major, name, OPLINK_ABI_MAJOR);
                return NULL;
            }
        }
        refuse(path, "it exports no `%s` symbol: it is no oplink plugin of ABI %d", OPLINK_ENTRY_SYMBOL,
               OPLINK_ABI_MAJOR);
        return NULL;
    }
    /* POSIX guarantees a data pointer from dlsym converts to a function pointer. */
    OplinkEntryFn entry;
    memcpy(&entry, &symbol, sizeof entry);
    return entry;
}

/* One ABI struct's size and alignment in this host, by the name a library's layout table
 * gives it, to name the one that differs. */
typedef struct {
    const char *name;
    size_t size;
    size_t align;
} Layout;

#define LAYOUT(type) {#type, sizeof(Oplink##type), OPLINK_ALIGNOF(Oplink##type)}
static const Layout layouts[] = {
    LAYOUT(StrView),      LAYOUT(BytesView),   LAYOUT(SliceView),       LAYOUT(OwnedBuf),
    LAYOUT(OwnedVec),     LAYOUT(ErrorOut),    LAYOUT(LayoutEntry),     LAYOUT(PluginHeader),
    LAYOUT(OperatorDescriptor), LAYOUT(ServiceMethod), LAYOUT(ServiceRequirement), LAYOUT(OperatorVTable),
    LAYOUT(HostApi),      LAYOUT(TableHeader), LAYOUT(AbiBatchRef),     LAYOUT(AbiBatch),
    LAYOUT(AbiRows),      LAYOUT(AbiDiff),     LAYOUT(AbiChange),
};

/* Each struct's fingerprint in this host, by name, from oplink.h. */
typedef struct {
    const char *name;
    uint64_t fingerprint;
} StructFingerprint;

static const StructFingerprint fingerprints[] = OPLINK_LAYOUT_FINGERPRINTS;

static const OplinkLayoutEntry *their_entry(const OplinkPluginHeader *h, const char *name) {
    for (size_t i = 0; i < h->layout_count; i++) {
        if (view_is(h->layouts[i].name, name)) {
            return &h->layouts[i];
        }
    }
    return NULL;
}

static const Layout *our_layout(const char *name) {
    for (size_t k = 0; k < sizeof layouts / sizeof layouts[0]; k++) {
        if (strcmp(layouts[k].name, name) == 0) {
            return &layouts[k];
        }
    }
    return NULL;
}

/* Refuses a library of another layout, naming the struct that differs by the layout
 * table it carries (a C library may carry none). */
static bool refuse_layout(const char *path, const OplinkPluginHeader *h) {
    fprintf(stderr, "c-host: cannot use `%s`: its ABI layout fingerprint is 0x%016llx, and this host's 0x%016llx", path,
            (unsigned long long)h->layout_fingerprint, (unsigned long long)OPLINK_LAYOUT_FINGERPRINT);
    if (h->layouts == NULL || h->layout_count == 0 || h->layout_count > 256) {
        fputs(", and it has no layout table to say which struct differs (a C library copies "
              "OPLINK_LAYOUT_FINGERPRINT from oplink.h)\n",
              stderr);
        return false;
    }
    /* A struct it does not describe is named only when none it describes differs. */
    const char *missing = NULL;
    for (size_t k = 0; k < sizeof fingerprints / sizeof fingerprints[0]; k++) {
        const char *name = fingerprints[k].name;
        const OplinkLayoutEntry *theirs = their_entry(h, name);
        const Layout *ours = our_layout(name);
        if (theirs == NULL) {
            missing = missing == NULL ? name : missing;
            continue;
        }
        if (theirs->fingerprint != fingerprints[k].fingerprint) {
            fprintf(stderr, ": the fields of `%s` (`Oplink%s` in C) differ between it and this host\n", name, name);
            return false;
        }
        if (ours != NULL && (theirs->size != ours->size || theirs->align != ours->align)) {
            fprintf(stderr, ": `%s` is %u bytes aligned to %u in it, and %zu bytes aligned to %zu in this host\n",
                    name, (unsigned)theirs->size, (unsigned)theirs->align, ours->size, ours->align);
            return false;
        }
    }
    if (missing != NULL) {
        fprintf(stderr, ": it does not describe `%s` (`Oplink%s` in C)", missing, missing);
    }
    fputc('\n', stderr);
    return false;
}

/* What is wrong with a list of `count` entries at `list`, of at most `max` (the bounds of
 * docs/abi.md, "Validation"), to follow its count in a message; NULL when nothing is. */
static const char *list_fault(size_t count, const void *list, size_t max, char text[48]) {
    if (count > max) {
        snprintf(text, 48, ", more than %zu", max);
        return text;
    }
    return count > 0 && list == NULL ? " at a null pointer" : NULL;
}

static const char *plural(size_t count) { return count == 1 ? "" : "s"; }

/* The checks of docs/abi.md, "Versions" and "Validation", that a host makes on the header
 * (but the checks of pointers against the library's segments: see README.md). */
static bool check_header(const char *path, const OplinkPluginHeader *h) {
    static const uint8_t magic[8] = OPLINK_MAGIC;
    if (h == NULL) {
        return refuse(path, "its `%s` returned no header", OPLINK_ENTRY_SYMBOL);
    }
    if (memcmp(h->magic, magic, sizeof magic) != 0) {
        return refuse(path, "its header does not start with the oplink magic: it is no oplink plugin");
    }
    if (h->abi_major != OPLINK_ABI_MAJOR) {
        return refuse(path, "its header is of oplink ABI %u, and this host reads ABI %d", (unsigned)h->abi_major,
                      OPLINK_ABI_MAJOR);
    }
    if (h->size < sizeof(OplinkPluginHeader)) {
        return refuse(path, "its header is %u bytes, and ABI %d.0's is %zu", (unsigned)h->size, OPLINK_ABI_MAJOR,
                      sizeof(OplinkPluginHeader));
    }
    if (h->abi_minor > OPLINK_ABI_MINOR) {
        fprintf(stderr, "c-host: cannot use `%s`: it was built for oplink ABI %d.%u", path, OPLINK_ABI_MAJOR,
                (unsigned)h->abi_minor);
        if (h->oplink_version.len > 0 && utf8_valid(h->oplink_version)) {
            fputs(" (oplink ", stderr);
            print_view(stderr, h->oplink_version);
            fputc(')', stderr);
        }
        fprintf(stderr, ", newer than this host's %d.%d (oplink.h of oplink %s): rebuild it against this oplink.h\n",
                OPLINK_ABI_MAJOR, OPLINK_ABI_MINOR, OPLINK_SDK_VERSION);
        return false;
    }
    if (h->layout_fingerprint != OPLINK_LAYOUT_FINGERPRINT) {
        return refuse_layout(path, h);
    }
    if (h->panic_strategy == OPLINK_PANIC_ABORT) {
        return refuse(path, "its oplink SDK was built with `panic = \"abort\"`: a panic in it would end this host");
    }
    if (h->panic_strategy != OPLINK_PANIC_UNWIND) {
        return refuse(path, "its panic strategy is %u, not 0 or 1", (unsigned)h->panic_strategy);
    }
    if (h->reserved != 0) {
        return refuse(path, "its header's reserved field is not zero");
    }
    char text[48];
    const char *fault = list_fault(h->operator_count, h->operators, 4096, text);
    if (fault != NULL) {
        return refuse(path, "its header lists %zu operator%s%s", h->operator_count, plural(h->operator_count), fault);
    }
    if (!utf8_valid(h->oplink_version) || !utf8_valid(h->rustc_version) || !utf8_valid(h->target) ||
        !utf8_valid(h->profile)) {
        return refuse(path, "its header's build strings are not UTF-8");
    }
    return true;
}

/* An operator's name: 1 to 64 ASCII letters, digits, `_`, `-` or `.`, starting with a
 * letter. */
static bool name_valid(OplinkStrView name) {
    if (name.len == 0 || name.len > 64 || name.ptr == NULL) {
        return false;
    }
    for (size_t i = 0; i < name.len; i++) {
        uint8_t c = name.ptr[i];
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool other = (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
        if (!letter && (i == 0 || !other)) {
            return false;
        }
    }
    return true;
}

/* Whether `s[from..to]` is dot-separated identifiers of ASCII letters, digits and `-`,
 * none empty. */
static bool identifiers(const uint8_t *s, size_t from, size_t to) {
    bool empty = true;
    for (size_t i = from; i < to; i++) {
        if (s[i] == '.') {
            if (empty) {
                return false;
            }
            empty = true;
        } else if ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                   s[i] == '-') {
            empty = false;
        } else {
            return false;
        }
    }
    return !empty;
}

/* A semantic version, as oplink's host reads it: `MAJOR.MINOR.PATCH` (numbers without
 * leading zeros), then an optional `-pre` and `+build`, each dot-separated identifiers of
 * ASCII letters, digits and `-`. */
static bool version_valid(OplinkStrView version) {
    const uint8_t *s = version.ptr;
    size_t i = 0;
    for (int part = 0; part < 3; part++) {
        size_t start = i;
        while (i < version.len && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
        if (i == start || (s[start] == '0' && i - start > 1) ||
            (part < 2 && (i == version.len || s[i++] != '.'))) {
            return false;
        }
    }
    /* The build metadata starts at the first `+`; the pre-release, if any, before it. */
    size_t plus = i;
    while (plus < version.len && s[plus] != '+') {
        plus++;
    }
    if (i < plus && (s[i] != '-' || !identifiers(s, i + 1, plus))) {
        return false;
    }
    return plus == version.len || identifiers(s, plus + 1, version.len);
}

/* An operator's vtable: the writer's size covers every slot of 2.0 (all of them), and
 * every slot is filled. */
static bool check_vtable(const char *path, int n, const char *name, const OplinkOperatorVTable *v) {
    if (v == NULL || v->size < sizeof(OplinkOperatorVTable)) {
        return refuse(path, "operator `%.*s` has no vtable, or one smaller than ABI %d.0's", n, name,
                      OPLINK_ABI_MAJOR);
    }
    if (v->reserved != 0) {
        return refuse(path, "the vtable of operator `%.*s` has a reserved field that is not zero", n, name);
    }
    const bool filled[] = {v->create != NULL, v->destroy != NULL,     v->apply != NULL,    v->pull != NULL,
                           v->tick != NULL,   v->flush_state != NULL, v->snapshot != NULL, v->restore != NULL};
    static const char *const entries[] = {"create", "destroy",     "apply",    "pull",
                                          "tick",   "flush_state", "snapshot", "restore"};
    for (size_t i = 0; i < sizeof filled / sizeof filled[0]; i++) {
        if (!filled[i]) {
            return refuse(path, "operator `%.*s` has no `%s` entry point", n, name, entries[i]);
        }
    }
    return true;
}

/* Each required service's list is there, and its fingerprint is the one its name and its
 * methods give ("Host services"). */
static bool check_requirements(const char *path, int n, const char *name, const OplinkOperatorDescriptor *d) {
    char text[48];
    const char *fault = list_fault(d->requires_count, d->requires_, 256, text);
    if (fault != NULL) {
        return refuse(path, "operator `%.*s` lists %zu required service%s%s", n, name, d->requires_count,
                      plural(d->requires_count), fault);
    }
    for (size_t i = 0; i < d->requires_count; i++) {
        const OplinkServiceRequirement *r = &d->requires_[i];
        if (!utf8_valid(r->name)) {
            return refuse(path, "operator `%.*s` requires a service whose name is not UTF-8", n, name);
        }
        fault = list_fault(r->method_count, r->methods, 4096, text);
        if (fault != NULL) {
            char *service = escaped(r->name);
            refuse(path, "operator `%.*s` requires the service `%s` with %zu method%s%s", n, name, service,
                   r->method_count, plural(r->method_count), fault);
            free(service);
            return false;
        }
        uint64_t expected = service_fingerprint(r->name, r->methods, r->method_count);
        if (r->fingerprint != expected) {
            char *service = escaped(r->name);
            refuse(path, "operator `%.*s` requires the service `%s` with the fingerprint 0x%016llx, and its name "
                   "and methods give 0x%016llx", n, name, service, (unsigned long long)r->fingerprint,
                   (unsigned long long)expected);
            free(service);
            return false;
        }
    }
    return true;
}

/* The 2.0 size of a descriptor: the offset of the first field 2.1 appended. */
#define DESCRIPTOR_2_0_SIZE offsetof(OplinkOperatorDescriptor, panic_strategy)

static bool check_descriptor(const char *path, const OplinkOperatorDescriptor *d, size_t index) {
    if (d == NULL || d->size < DESCRIPTOR_2_0_SIZE) {
        return refuse(path, "its operator %zu has no descriptor or one smaller than ABI %d.0's", index + 1,
                      OPLINK_ABI_MAJOR);
    }
    if (!name_valid(d->name)) {
        return refuse(path, "its operator %zu has no valid name (1 to 64 ASCII letters, digits, `_`, `-` or `.`, "
                      "starting with a letter)", index + 1);
    }
    int n = (int)d->name.len;
    const char *name = (const char *)d->name.ptr;
    if (!utf8_valid(d->version) || !version_valid(d->version)) {
        /* Shown as far as a version could reasonably go. */
        OplinkStrView shown = {d->version.ptr, d->version.len > 64 ? 64 : d->version.len};
        char *version = escaped(shown);
        refuse(path, "operator `%.*s` has the version \"%s\"%s; a version is semantic, such as `1.0.0` or "
               "`0.3.1-beta.2`", n, name, version, shown.len < d->version.len ? "..." : "");
        free(version);
        return false;
    }
    if (!utf8_valid(d->description)) {
        return refuse(path, "operator `%.*s` has a description that is not UTF-8", n, name);
    }
    if ((d->implemented & ~OPLINK_IMPLEMENTS_ALL) != 0) {
        return refuse(path, "operator `%.*s` says it implements unknown methods (bits 0x%x)", n, name,
                      (unsigned)d->implemented);
    }
    /* The operator's own panic strategy is there only when the writer's size covers it (2.1). */
    if (d->size >= offsetof(OplinkOperatorDescriptor, reserved) + sizeof d->reserved) {
        if (d->panic_strategy == OPLINK_PANIC_ABORT) {
            return refuse(path, "operator `%.*s` was built with `panic = \"abort\"`: a panic in it would end this "
                          "host", n, name);
        }
        if (d->panic_strategy != OPLINK_PANIC_UNWIND) {
            return refuse(path, "operator `%.*s` has panic strategy %u, not 0 or 1", n, name,
                          (unsigned)d->panic_strategy);
        }
        if (d->reserved != 0) {
            return refuse(path, "operator `%.*s`'s reserved field is not zero", n, name);
        }
    }
    return check_vtable(path, n, name, d->vtable) && check_requirements(path, n, name, d);
}

/* The pre-flight check: `dlopen` would take a text file for a linker script and say so
 * obscurely, and runs a library's initialisers, so a file that is no ELF file is refused
 * before, in plain words. (oplink's host also checks the ELF headers: a truncated file
 * would crash `dlopen`.) */
static bool is_elf(const char *path) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        return refuse(path, "%s", strerror(errno));
    }
    unsigned char magic[4] = {0};
    size_t read = fread(magic, 1, sizeof magic, file);
    fclose(file);
    if (read < sizeof magic || memcmp(magic, "\x7f" "ELF", sizeof magic) != 0) {
        return refuse(path, "it is no shared library (it does not start with the ELF magic)");
    }
    return true;
}

/* Opens the library and checks everything it says; NULL (having said why) when refused.
 * It is never closed: the arrays an operator returns carry release functions into its
 * code, which may run at any time (docs/abi.md, "Calls"). */
static const OplinkPluginHeader *load(const char *path) {
    if (!is_elf(path)) {
        return NULL;
    }
    /* RTLD_NOW: a missing symbol is an error here, not a crash at its first call.
     * RTLD_LOCAL: the symbols of one plugin never stand in for another's. */
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        refuse(path, "%s", dlerror());
        return NULL;
    }
    OplinkEntryFn entry = find_entry(path, library);
    const OplinkPluginHeader *header = entry == NULL ? NULL : entry();
    if (entry == NULL || !check_header(path, header)) {
        return NULL;
    }
    for (size_t i = 0; i < header->operator_count; i++) {
        if (!check_descriptor(path, header->operators[i], i)) {
            return NULL;
        }
        for (size_t k = 0; k < i; k++) {
            OplinkStrView a = header->operators[i]->name, b = header->operators[k]->name;
            if (a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0) {
                refuse(path, "it lists operator `%.*s` twice", (int)a.len, (const char *)a.ptr);
                return NULL;
            }
        }
    }
    return header;
}

static void list_operators(const OplinkPluginHeader *header) {
    for (size_t i = 0; i < header->operator_count; i++) {
        const OplinkOperatorDescriptor *d = header->operators[i];
        print_view(stdout, d->name);
        fputc(' ', stdout);
        print_view(stdout, d->version);
        if (d->description.len > 0) {
            fputs(": ", stdout);
            print_view(stdout, d->description);
        }
        fputc('\n', stdout);
    }
}

/* ---- Schema caches ----------------------------------------------------- */

/* A schema as the receiver keeps it: a copy, since the sender's lives only until the
 * next call on the instance. */
typedef struct {
    bool stored;
    int64_t count;
    char **formats;
    char **names;
} Columns;

/* A schema cache of one direction of one instance: slots 1 to OPLINK_MAX_SCHEMA_ID. */
typedef struct {
    Columns slots[OPLINK_MAX_SCHEMA_ID + 1];
} SchemaCache;

/* What this host sent (the operator's cache holds the same), and what it received. */
static SchemaCache sent, received;

static void forget(Columns *slot) {
    for (int64_t i = 0; slot->stored && i < slot->count; i++) {
        free(slot->formats[i]);
        free(slot->names[i]);
    }
    free(slot->formats);
    free(slot->names);
    memset(slot, 0, sizeof *slot);
}

static void forget_all(SchemaCache *cache) {
    for (size_t s = 0; s <= OPLINK_MAX_SCHEMA_ID; s++) {
        forget(&cache->slots[s]);
    }
}

static char *copy_text(const char *text) {
    size_t len = text == NULL ? 0 : strlen(text);
    char *copy = alloc(len + 1);
    memcpy(copy, text == NULL ? "" : text, len);
    return copy;
}

/* Stores a batch's schema in its slot; a schema that cannot be read empties the slot, so
 * that a later batch naming it is an error. */
static bool store(Columns *slot, const struct ArrowSchema *schema) {
    forget(slot);
    if (schema->format == NULL || strcmp(schema->format, "+s") != 0 || schema->n_children < 0 ||
        schema->n_children > 4096 || (schema->n_children > 0 && schema->children == NULL)) {
        return false;
    }
    for (int64_t i = 0; i < schema->n_children; i++) {
        if (schema->children[i] == NULL || schema->children[i]->format == NULL) {
            return false;
        }
    }
    slot->count = schema->n_children;
    slot->formats = alloc((size_t)slot->count * sizeof *slot->formats);
    slot->names = alloc((size_t)slot->count * sizeof *slot->names);
    for (int64_t i = 0; i < slot->count; i++) {
        slot->formats[i] = copy_text(schema->children[i]->format);
        slot->names[i] = copy_text(schema->children[i]->name);
    }
    slot->stored = true;
    return true;
}

/* ---- Arrays this host makes -------------------------------------------- */

/* What an array made here owns, freed by its release: its buffers and its children. */
typedef struct {
    const void *buffers[3];
    struct ArrowArray *children[2];
    struct ArrowArray child_storage[2];
} ArrayParts;

/* The C Data Interface's release: releases the children still in place (a consumer may
 * have moved some out, leaving them released), frees the buffers, marks the array released. */
static void release_array(struct ArrowArray *array) {
    ArrayParts *parts = array->private_data;
    for (int64_t i = 0; i < array->n_children; i++) {
        if (parts->children[i]->release != NULL) {
            parts->children[i]->release(parts->children[i]);
        }
    }
    for (int64_t i = 0; i < array->n_buffers; i++) {
        free((void *)parts->buffers[i]);
    }
    free(parts);
    array->release = NULL;
}

/* An array of `length` rows over `n_buffers` buffers (which it takes), with no children. */
static struct ArrowArray make_array(int64_t length, int64_t null_count, int64_t n_buffers, void *buffers[]) {
    ArrayParts *parts = alloc(sizeof *parts);
    for (int64_t i = 0; i < n_buffers; i++) {
        parts->buffers[i] = buffers[i];
    }
    return (struct ArrowArray){length, null_count, 0, n_buffers, 0, parts->buffers, NULL, NULL, release_array, parts};
}

/* One row of the example data. */
typedef struct {
    uint64_t row;
    bool has_amount;
    int64_t amount;
    const char *customer; /* NULL for null */
} Row;

/* A validity bitmap of `n` rows, or NULL when none is null (the C Data Interface allows). */
static uint8_t *validity(const Row *rows, size_t n, bool (*valid)(const Row *), int64_t *null_count) {
    uint8_t *bits = alloc((n + 7) / 8);
    *null_count = 0;
    for (size_t i = 0; i < n; i++) {
        if (valid(&rows[i])) {
            bits[i / 8] |= (uint8_t)(1u << (i % 8));
        } else {
            ++*null_count;
        }
    }
    if (*null_count == 0) {
        free(bits);
        return NULL;
    }
    return bits;
}

static bool amount_valid(const Row *row) { return row->has_amount; }
static bool customer_valid(const Row *row) { return row->customer != NULL; }

static struct ArrowArray amount_column(const Row *rows, size_t n) {
    int64_t nulls;
    int64_t *values = alloc(n * sizeof *values);
    for (size_t i = 0; i < n; i++) {
        values[i] = rows[i].has_amount ? rows[i].amount : 0;
    }
    void *buffers[2] = {validity(rows, n, amount_valid, &nulls), values};
    return make_array((int64_t)n, nulls, 2, buffers);
}

static struct ArrowArray customer_column(const Row *rows, size_t n) {
    int64_t nulls;
    int32_t *offsets = alloc((n + 1) * sizeof *offsets);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        bytes += rows[i].customer == NULL ? 0 : strlen(rows[i].customer);
    }
    char *data = alloc(bytes);
    for (size_t i = 0; i < n; i++) {
        size_t len = rows[i].customer == NULL ? 0 : strlen(rows[i].customer);
        memcpy(data + offsets[i], rows[i].customer == NULL ? "" : rows[i].customer, len);
        offsets[i + 1] = offsets[i] + (int32_t)len;
    }
    void *buffers[3] = {validity(rows, n, customer_valid, &nulls), offsets, data};
    return make_array((int64_t)n, nulls, 3, buffers);
}

/* The batch: a struct array (one validity buffer, absent: a batch has no null rows) whose
 * two children live in its own parts. */
static struct ArrowArray batch(const Row *rows, size_t n) {
    void *no_validity[1] = {NULL};
    struct ArrowArray array = make_array((int64_t)n, 0, 1, no_validity);
    ArrayParts *parts = array.private_data;
    parts->child_storage[0] = amount_column(rows, n);
    parts->child_storage[1] = customer_column(rows, n);
    parts->children[0] = &parts->child_storage[0];
    parts->children[1] = &parts->child_storage[1];
    array.n_children = 2;
    array.children = parts->children;
    return array;
}

static struct ArrowArray row_numbers(const Row *rows, size_t n) {
    uint64_t *numbers = alloc(n * sizeof *numbers);
    for (size_t i = 0; i < n; i++) {
        numbers[i] = rows[i].row;
    }
    void *buffers[2] = {NULL, numbers};
    return make_array((int64_t)n, 0, 2, buffers);
}

/* The schema of the batches: static, borrowed for the call. A receiver never calls a
 * borrowed schema's release, so it may be null (docs/abi.md, "Changes and batches"). */
static struct ArrowSchema amount_field = {"l", "amount", NULL, ARROW_FLAG_NULLABLE, 0, NULL, NULL, NULL, NULL};
static struct ArrowSchema customer_field = {"u", "customer", NULL, ARROW_FLAG_NULLABLE, 0, NULL, NULL, NULL, NULL};
static struct ArrowSchema *fields[] = {&amount_field, &customer_field};
static const struct ArrowSchema orders = {"+s", "", NULL, 0, 2, fields, NULL, NULL, NULL};

/* One side of a diff. The schema crosses once: `schema` is null when slot 1 of the
 * receiver's cache already holds it. */
static OplinkAbiRows side(const Row *rows, size_t n, bool send_schema) {
    OplinkAbiRows side;
    memset(&side, 0, sizeof side);
    side.schema_id = 1;
    side.schema = send_schema ? &orders : NULL;
    if (send_schema) {
        store(&sent.slots[1], &orders);
    }
    side.columns = batch(rows, n);
    side.row_numbers = row_numbers(rows, n);
    return side;
}

/* An absent side: schema id 0, released arrays (`release` null). */
static OplinkAbiRows absent(void) {
    OplinkAbiRows none;
    memset(&none, 0, sizeof none);
    return none;
}

/* Releases every array of a change still held (moved ones are released already). */
static void release_change(OplinkAbiChange *change) {
    for (size_t d = 0; d < change->diff_count; d++) {
        OplinkAbiRows *sides[2] = {&change->diffs[d].pre, &change->diffs[d].post};
        for (int s = 0; s < 2; s++) {
            if (sides[s]->columns.release != NULL) {
                sides[s]->columns.release(&sides[s]->columns);
            }
            if (sides[s]->row_numbers.release != NULL) {
                sides[s]->row_numbers.release(&sides[s]->row_numbers);
            }
        }
    }
}

/* ---- Reading what an operator returns ---------------------------------- */

/* Says what is wrong with an output; always false. */
static bool bad_output(const char *op, const char *what) {
    fprintf(stderr, "c-host: operator `%s` returned a change this host cannot read: %s\n", op, what);
    return false;
}

static bool is_valid(const struct ArrowArray *a, int64_t i) {
    const uint8_t *bits = a->buffers[0];
    int64_t at = a->offset + i;
    return bits == NULL || (bits[at / 8] >> (at % 8)) & 1;
}

/* How many buffers each printable format has; 0 for a format this host does not print. */
static int64_t buffer_count(const char *format) {
    return strcmp(format, "l") == 0 || strcmp(format, "L") == 0 ? 2 : strcmp(format, "u") == 0 ? 3 : 0;
}

/* Whether an array's `offset` and `length` are not negative, and its last row,
 * `offset + length`, is an int64_t: the indexes this host computes from them cannot
 * overflow. */
static bool bounds_valid(const struct ArrowArray *a) {
    return a->offset >= 0 && a->length >= 0 && a->length <= INT64_MAX - a->offset;
}

/* A column's header as far as this host reads it: rows 0 to `rows` of its parent, which
 * it holds at its own offset. The C Data Interface leaves the rest (offsets that rise,
 * UTF-8, buffers as long as the length says) to the producer's word. */
static bool column_readable(const struct ArrowArray *c, const char *format, int64_t rows) {
    int64_t buffers = buffer_count(format);
    return c != NULL && c->release != NULL && bounds_valid(c) && c->length >= rows &&
           (buffers == 0 ||
            (c->n_buffers == buffers && c->buffers != NULL && (c->null_count == 0 || c->buffers[0] != NULL) &&
             (rows == 0 || c->buffers[1] != NULL) && (buffers < 3 || rows == 0 || c->buffers[2] != NULL)));
}

static void print_value(const struct ArrowArray *c, const char *format, int64_t i) {
    if (buffer_count(format) == 0) {
        putchar('(');
        print_text(stdout, (const uint8_t *)format, strlen(format));
        putchar(')');
    } else if (!is_valid(c, i)) {
        fputs("null", stdout);
    } else if (format[0] == 'l') {
        printf("%lld", (long long)((const int64_t *)c->buffers[1])[c->offset + i]);
    } else if (format[0] == 'L') {
        printf("%llu", (unsigned long long)((const uint64_t *)c->buffers[1])[c->offset + i]);
    } else {
        const int32_t *offsets = (const int32_t *)c->buffers[1] + c->offset + i;
        /* Offsets that go back, and text that is not UTF-8, are the producer's fault and
         * not this host's to print. */
        OplinkStrView text = {NULL, 0};
        if (offsets[0] >= 0 && offsets[1] >= offsets[0]) {
            text = (OplinkStrView){(const uint8_t *)c->buffers[2] + offsets[0], (size_t)offsets[1] - (size_t)offsets[0]};
        }
        if (offsets[0] < 0 || offsets[1] < offsets[0] || !utf8_valid(text)) {
            fputs("(not UTF-8)", stdout);
        } else {
            putchar('"');
            print_view(stdout, text);
            putchar('"');
        }
    }
}

/* Checks one side's arrays against its schema (stored first when it came with one), then
 * prints each row: its number and its values. */
static bool print_rows(const char *op, const char *name, const OplinkAbiRows *rows, SchemaCache *cache) {
    if (rows->schema_id == 0 || rows->schema_id > OPLINK_MAX_SCHEMA_ID) {
        return bad_output(op, "a schema id outside 1 to OPLINK_MAX_SCHEMA_ID");
    }
    Columns *slot = &cache->slots[rows->schema_id];
    if (rows->schema != NULL && !store(slot, rows->schema)) {
        return bad_output(op, "a schema that is not a struct of fields");
    }
    if (!slot->stored) {
        return bad_output(op, "a batch naming a schema slot that holds none");
    }
    const struct ArrowArray *batch = &rows->columns, *numbers = &rows->row_numbers;
    if (batch->release == NULL || batch->n_children != slot->count ||
        (batch->n_children > 0 && batch->children == NULL) || numbers->release == NULL ||
        numbers->length != batch->length || numbers->n_buffers != 2 || numbers->buffers == NULL ||
        (numbers->length > 0 && numbers->buffers[1] == NULL) || numbers->null_count > 0) {
        return bad_output(op, "a batch whose arrays are released, or do not match its schema or its row numbers");
    }
    if (!bounds_valid(batch) || !bounds_valid(numbers)) {
        return bad_output(op, "a batch or row numbers with a negative offset or length, or rows past INT64_MAX");
    }
    /* A column is read at rows `batch->offset` to `batch->offset + batch->length` (the
     * parent's offset applies to its children), from its own offset on. */
    for (int64_t c = 0; c < slot->count; c++) {
        const struct ArrowArray *column = batch->children[c];
        if (!column_readable(column, slot->formats[c], batch->offset + batch->length) ||
            column->offset > INT64_MAX - batch->offset - batch->length) {
            return bad_output(op, "a column whose buffers or length do not fit its type");
        }
    }
    for (int64_t i = 0; i < batch->length; i++) {
        printf("    %s row %llu:", name,
               (unsigned long long)((const uint64_t *)numbers->buffers[1])[numbers->offset + i]);
        for (int64_t c = 0; c < slot->count; c++) {
            putchar(' ');
            print_text(stdout, (const uint8_t *)slot->names[c], strlen(slot->names[c]));
            putchar('=');
            print_value(batch->children[c], slot->formats[c], batch->offset + i);
        }
        putchar('\n');
    }
    return true;
}

static bool side_absent(const OplinkAbiRows *rows) {
    return rows->schema_id == 0 && rows->columns.release == NULL && rows->row_numbers.release == NULL;
}

/* Prints every diff of an output. A diff of unknown kind or reserved field is taken as a
 * sign that the diff array is not what the operator says: nothing from it on is touched,
 * not even released (it leaks rather than crash), and every stored schema is forgotten. */
static bool print_change(const char *op, OplinkAbiChange *out, SchemaCache *cache) {
    printf("  out: version %llu at %lld, %zu diff%s\n", (unsigned long long)out->version, (long long)out->changed_at,
           out->diff_count, out->diff_count == 1 ? "" : "s");
    if (out->diff_count > 0 && out->diffs == NULL) {
        return bad_output(op, "diffs counted but none given");
    }
    bool ok = true;
    for (size_t d = 0; d < out->diff_count; d++) {
        OplinkAbiDiff *diff = &out->diffs[d];
        if (diff->kind < OPLINK_DIFF_INSERT || diff->kind > OPLINK_DIFF_REMOVE || diff->reserved != 0) {
            forget_all(cache);
            out->diff_count = d;
            return bad_output(op, "a diff of unknown kind: its diff array cannot be trusted");
        }
        static const char *const kinds[] = {"", "insert", "update", "remove"};
        printf("  %s\n", kinds[diff->kind]);
        bool has_pre = diff->kind != OPLINK_DIFF_INSERT, has_post = diff->kind != OPLINK_DIFF_REMOVE;
        /* Each diff's pre before its post: a slot refilled by a later batch reads right. */
        ok = ok && (has_pre ? print_rows(op, "pre", &diff->pre, cache)
                            : side_absent(&diff->pre) || bad_output(op, "an insert with a `pre` side"));
        ok = ok && (has_post ? print_rows(op, "post", &diff->post, cache)
                             : side_absent(&diff->post) || bad_output(op, "a remove with a `post` side"));
    }
    return ok;
}

/* ---- Running an operator ----------------------------------------------- */

typedef struct {
    const OplinkOperatorDescriptor *descriptor;
    const char *name;
    OplinkInstance *instance;
    bool poisoned;
} Running;

/* Whether every array of a change's present sides is still one this host made. */
static bool all_own(const OplinkAbiChange *change) {
    for (size_t d = 0; d < change->diff_count; d++) {
        const OplinkAbiDiff *diff = &change->diffs[d];
        const OplinkAbiRows *sides[2] = {&diff->pre, &diff->post};
        for (int s = 0; s < 2; s++) {
            if (sides[s]->schema_id != 0 &&
                (sides[s]->columns.release != release_array || sides[s]->row_numbers.release != release_array)) {
                return false;
            }
        }
    }
    return true;
}

/* Reads an `apply` output. Since 2.2 it may be the input given back (its diff array, its
 * arrays moved back): whole, it is read with the schemas this host sent; with an array
 * replaced, as any output. A diff array that starts within the input's may not list more
 * diffs than the input has from there: past them lies this host's memory. */
static bool read_output(const char *op, const OplinkAbiChange *input, OplinkAbiChange *out) {
    uintptr_t start = (uintptr_t)input->diffs, end = (uintptr_t)(input->diffs + input->diff_count);
    uintptr_t at = (uintptr_t)out->diffs;
    if (at >= start && at < end && out->diff_count > (end - at) / sizeof(OplinkAbiDiff)) {
        out->diff_count = 0;
        return bad_output(op, "the input's diff array, with more diffs than it has");
    }
    if (input->diff_count > 0 && out->diffs == input->diffs) {
        bool whole = all_own(out);
        printf("  out: the input's diff array, given back%s\n", whole ? " whole" : " with arrays of the operator's");
        return print_change(op, out, whole ? &sent : &received);
    }
    return print_change(op, out, &received);
}

/* Applies one change and prints the output; the arrays of both are released after, the
 * input's leftovers included, whatever the status. */
static bool apply(Running *op, OplinkAbiChange *input) {
    OplinkAbiChange out;
    memset(&out, 0, sizeof out);
    OplinkErrorOut err = error_slot();
    printf("apply version %llu: %zu diff%s\n", (unsigned long long)input->version, input->diff_count,
           input->diff_count == 1 ? "" : "s");
    /* The callee gets a copy: it may write over the struct it is handed, and this host
     * finds what is left of its input, and recognises it given back, by its own record. */
    OplinkAbiChange handed = *input;
    OplinkStatus status = op->descriptor->vtable->apply(op->instance, &handed, &out, &err);
    bool ok = status == OPLINK_STATUS_OK;
    if (ok) {
        /* An input given back is released once, below. */
        ok = read_output(op->name, input, &out);
        if (input->diff_count == 0 || out.diffs != input->diffs) {
            release_change(&out);
        }
    } else {
        op->poisoned = report_failure(op->name, "apply", status, &err);
    }
    release_change(input);
    return ok;
}

/* The example data: 4 orders, one without an amount, one without a customer. */
static const Row inserted[] = {
    {0, true, 5, "ann"}, {1, true, 10, "bob"}, {2, false, 0, "carol"}, {3, true, 50, NULL}};
/* Orders 1 and 3, before and after an update. */
static const Row updated_pre[] = {{1, true, 10, "bob"}, {3, true, 50, NULL}};
static const Row updated_post[] = {{1, true, 12, "bob"}, {3, true, 7, NULL}};

/* Two changes: an insert (the schema crosses), then an update (the operator has it). */
static bool apply_examples(Running *op) {
    OplinkAbiDiff diffs[1];
    memset(diffs, 0, sizeof diffs);
    diffs[0].kind = OPLINK_DIFF_INSERT;
    diffs[0].pre = absent();
    diffs[0].post = side(inserted, 4, true);
    OplinkAbiChange first = {1, 1000, diffs, 1};
    if (!apply(op, &first)) {
        return false;
    }
    memset(diffs, 0, sizeof diffs);
    diffs[0].kind = OPLINK_DIFF_UPDATE;
    diffs[0].pre = side(updated_pre, 2, false);
    diffs[0].post = side(updated_post, 2, false);
    OplinkAbiChange second = {2, 2000, diffs, 1};
    return apply(op, &second);
}

/* Checks what the operator requires against what this host offers, before `create`. */
static bool services_offered(const char *op, const OplinkOperatorDescriptor *d) {
    for (size_t i = 0; i < d->requires_count; i++) {
        const OplinkServiceRequirement *r = &d->requires_[i];
        if (find_service(r->name, r->fingerprint) == NULL) {
            fprintf(stderr, "c-host: operator `%s` requires the service `", op);
            print_view(stderr, r->name);
            fprintf(stderr, "` of fingerprint 0x%016llx, which this host does not provide: " OFFERED "\n",
                    (unsigned long long)r->fingerprint);
            return false;
        }
    }
    return true;
}

static const OplinkOperatorDescriptor *find_operator(const OplinkPluginHeader *header, const char *name) {
    for (size_t i = 0; i < header->operator_count; i++) {
        if (view_is(header->operators[i]->name, name)) {
            return header->operators[i];
        }
    }
    return NULL;
}

/* Creates the operator, applies the example changes, destroys it. */
static int run(const char *path, const OplinkPluginHeader *header, const char *name, const char *config) {
    const OplinkOperatorDescriptor *d = find_operator(header, name);
    if (d == NULL) {
        fprintf(stderr, "c-host: `%s` has no operator `%s` (run `c-host %s` to list them)\n", path, name, path);
        return 1;
    }
    if (!services_offered(name, d)) {
        return 1;
    }
    /* The host API outlives the instance: it is static. */
    static OplinkHostApi api = {sizeof(OplinkHostApi), 0, 1, &the_host, lookup_service};
    OplinkStrView text = {(const uint8_t *)config, strlen(config)};
    Running op = {d, name, NULL, false};
    OplinkErrorOut err = error_slot();
    OplinkStatus status = d->vtable->create(&api, text, &op.instance, &err);
    if (status != OPLINK_STATUS_OK) {
        report_failure(name, "new", status, &err);
        return 1;
    }
    if (op.instance == NULL) {
        fprintf(stderr, "c-host: operator `%s` reported success from `new` but gave no instance\n", name);
        return 1;
    }
    printf("created %s\n", name);
    bool ok = apply_examples(&op);
    /* destroy is called even on a poisoned instance: it frees it. */
    err = error_slot();
    status = d->vtable->destroy(op.instance, &err);
    if (status != OPLINK_STATUS_OK) {
        report_failure(name, "destroy", status, &err);
    }
    printf("destroyed %s\n", name);
    forget_all(&sent);
    forget_all(&received);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 4) {
        fputs("usage: c-host LIBRARY [OPERATOR CONFIG]\n"
              "  lists the operators of LIBRARY, or creates OPERATOR with the JSON CONFIG and applies\n"
              "  two example changes to it\n",
              stderr);
        return 2;
    }
    const OplinkPluginHeader *header = load(argv[1]);
    if (header == NULL) {
        return 1;
    }
    if (argc == 2) {
        list_operators(header);
        return 0;
    }
    return run(argv[1], header, argv[2], argv[3]);
}
