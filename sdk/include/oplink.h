/* oplink.h: the oplink plugin ABI, major 2 (minors 0 to 2).
 *
 * Generated from sdk/src/abi/types.rs by `cargo run -p oplink --example abi-header`;
 * do not edit. sdk/tests/abi_files.rs fails when this file is stale.
 *
 * A plugin written in C includes this file, fills an OplinkPluginHeader and exports it from
 * `oplink_plugin_v2` (OPLINK_ENTRY_SYMBOL). Define OPLINK_BUILD_MINOR to build against an
 * older minor of the ABI (its tables then end where that minor's did).
 *
 * A host written in C includes it too: it opens a library with `dlopen`, calls the entry
 * symbol, checks the header as docs/abi.md says ("What a host checks") and calls the
 * operators' vtables, with OplinkHostApi and the service tables of its own:
 * examples/c-host/host.c is one.
 */
#ifndef OPLINK_H
#define OPLINK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The layout checks below, in C11 and in C++11. */
#ifdef __cplusplus
#define OPLINK_STATIC_ASSERT static_assert
#define OPLINK_ALIGNOF alignof
#else
#define OPLINK_STATIC_ASSERT _Static_assert
#define OPLINK_ALIGNOF _Alignof
#endif

/* ---- Constants ---------------------------------------------------- */

/* Major version of the ABI. A host loads only libraries of its own major. */
#define OPLINK_ABI_MAJOR 2

/* Minor version of the ABI. Minors append fields to tables or allow one side more
 * (2.2: `apply` may return its input; a caller need not zero the error slot); a host
 * reads a library of its own or an older minor.
 */
#define OPLINK_ABI_MINOR 2

/* The version of the oplink SDK that wrote this declaration (and `oplink.h`). */
#define OPLINK_SDK_VERSION "0.2.0"

/* The one symbol a plugin library exports for this major, as text. */
#define OPLINK_ENTRY_SYMBOL "oplink_plugin_v2"

/* The first eight bytes of every plugin header, of every major. */
#define OPLINK_MAGIC { 0x7f, 'O', 'P', 'L', 'I', 'N', 'K', 0x00 }

/* `panic_strategy` of code built with `panic = "unwind"`. */
#define OPLINK_PANIC_UNWIND 0u

/* `panic_strategy` of code built with `panic = "abort"`; hosts refuse such libraries,
 * since a panic in them would end the host's process.
 */
#define OPLINK_PANIC_ABORT 1u

/* Bit of the descriptor's `implemented`: the author wrote `pull`. */
#define OPLINK_IMPLEMENTS_PULL (1u << 0)

/* Bit of the descriptor's `implemented`: the author wrote `tick`. */
#define OPLINK_IMPLEMENTS_TICK (1u << 1)

/* Bit of the descriptor's `implemented`: the author wrote `flush_state`. */
#define OPLINK_IMPLEMENTS_FLUSH_STATE (1u << 2)

/* Bit of the descriptor's `implemented`: the author wrote `snapshot`. */
#define OPLINK_IMPLEMENTS_SNAPSHOT (1u << 3)

/* Bit of the descriptor's `implemented`: the author wrote `restore`. */
#define OPLINK_IMPLEMENTS_RESTORE (1u << 4)

/* Every bit `implemented` may have; any other is refused. */
#define OPLINK_IMPLEMENTS_ALL 0x1fu

/* An `AbiDiff`'s `kind` for an insert (only `post` is set). */
#define OPLINK_DIFF_INSERT 1u

/* An `AbiDiff`'s `kind` for an update (`pre` and `post` are set, with the same row numbers). */
#define OPLINK_DIFF_UPDATE 2u

/* An `AbiDiff`'s `kind` for a remove (only `pre` is set). */
#define OPLINK_DIFF_REMOVE 3u

/* The largest schema id a sender may use: ids are slots of the receiver's schema
 * cache, so a cache never holds more schemas than this.
 */
#define OPLINK_MAX_SCHEMA_ID 1024u

/* The fingerprint of the frozen ABI layout of this major (every minor shares it). */
#define OPLINK_LAYOUT_FINGERPRINT 0xf1c25135918a5e53ull

/* Each struct's own fingerprint (its frozen prefix: the names and types of its 2.0 fields),
 * by the name a library's layout table gives it (`LayoutEntry.name`), in declaration order:
 * the initialiser of an array of `struct { const char *name; uint64_t fingerprint; }`. A
 * host that finds another OPLINK_LAYOUT_FINGERPRINT in a header compares the library's
 * layout table with it to name the struct that differs.
 */
#define OPLINK_LAYOUT_FINGERPRINTS { \
    { "StrView", 0x0bfd339a034236d8ull }, \
    { "BytesView", 0xcf7b5268a5b937b4ull }, \
    { "SliceView", 0xc2773cc378da2544ull }, \
    { "OwnedBuf", 0xfc73cf1fa0b2fec1ull }, \
    { "OwnedVec", 0x3b925bb249b4d57eull }, \
    { "ErrorOut", 0x0ecb1f9bd7c52992ull }, \
    { "LayoutEntry", 0x4756b80685373b6bull }, \
    { "PluginHeader", 0x33d7072bfa5e3b28ull }, \
    { "OperatorDescriptor", 0x66124b783b59d766ull }, \
    { "ServiceMethod", 0xc74290d6596d5ea9ull }, \
    { "ServiceRequirement", 0xa4f84e7bed6e2995ull }, \
    { "OperatorVTable", 0xc351b2976242fd95ull }, \
    { "HostApi", 0xe005f716a015e855ull }, \
    { "TableHeader", 0x27f0f2b2036e0589ull }, \
    { "AbiBatchRef", 0x76098f0bf3b503adull }, \
    { "AbiBatch", 0x59ae60717db3c12dull }, \
    { "AbiRows", 0xfe245b6780a97c1eull }, \
    { "AbiDiff", 0xb0b023b4b4ceae4bull }, \
    { "AbiChange", 0x5d14eb5ce4704e47ull }, \
}

/* The minor this build writes. */
#ifndef OPLINK_BUILD_MINOR
#define OPLINK_BUILD_MINOR OPLINK_ABI_MINOR
#endif
#if OPLINK_BUILD_MINOR > OPLINK_ABI_MINOR
#error "OPLINK_BUILD_MINOR is newer than this header"
#endif

/* Define the entry symbol with this: OPLINK_ENTRY const OplinkPluginHeader *oplink_plugin_v2(void)
   (declared below, so that in C++ too the definition has C linkage and its name as written). */
#if defined(_WIN32)
#define OPLINK_ENTRY __declspec(dllexport)
#else
#define OPLINK_ENTRY __attribute__((visibility("default")))
#endif

/* ---- Status codes ------------------------------------------------- */

typedef uint32_t OplinkStatus;

/* The call succeeded; its out-parameters are written. */
#define OPLINK_STATUS_OK 0u

/* The callee returned an error; the error slot is written. */
#define OPLINK_STATUS_ERROR 1u

/* The callee panicked; the error slot is written. An operator that panicked is poisoned (its host calls it no more); a host service that panicked poisons nothing: the call failed, as with `ERROR`. */
#define OPLINK_STATUS_PANIC 2u

/* The callee could not read its input; the error slot is written. */
#define OPLINK_STATUS_INVALID_INPUT 3u

/* ---- The Arrow C Data Interface (https://arrow.apache.org/docs/format/CDataInterface.html) */

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

/* ---- Types ---------------------------------------------------------- */

/* An operator instance, opaque to everyone but the plugin that made it. */
typedef struct OplinkInstance OplinkInstance;
typedef struct OplinkStrView OplinkStrView;
typedef struct OplinkBytesView OplinkBytesView;
typedef struct OplinkSliceView OplinkSliceView;
typedef struct OplinkOwnedBuf OplinkOwnedBuf;
typedef struct OplinkOwnedVec OplinkOwnedVec;
typedef struct OplinkErrorOut OplinkErrorOut;
typedef struct OplinkLayoutEntry OplinkLayoutEntry;
typedef struct OplinkPluginHeader OplinkPluginHeader;
typedef struct OplinkOperatorDescriptor OplinkOperatorDescriptor;
typedef struct OplinkServiceMethod OplinkServiceMethod;
typedef struct OplinkServiceRequirement OplinkServiceRequirement;
typedef struct OplinkOperatorVTable OplinkOperatorVTable;
typedef struct OplinkHostApi OplinkHostApi;
typedef struct OplinkTableHeader OplinkTableHeader;
typedef struct OplinkAbiBatchRef OplinkAbiBatchRef;
typedef struct OplinkAbiBatch OplinkAbiBatch;
typedef struct OplinkAbiRows OplinkAbiRows;
typedef struct OplinkAbiDiff OplinkAbiDiff;
typedef struct OplinkAbiChange OplinkAbiChange;

/* The entry symbol a plugin defines (OPLINK_ENTRY_SYMBOL). */
OPLINK_ENTRY const OplinkPluginHeader *oplink_plugin_v2(void);

/* Frees an `OwnedBuf`; called exactly once, by the receiver. */
typedef void (*OplinkReleaseBufFn)(OplinkOwnedBuf *buf);

/* Frees an `OwnedVec`; called exactly once, by the receiver. */
typedef void (*OplinkReleaseVecFn)(OplinkOwnedVec *vec);

/* The library's entry symbol, `oplink_plugin_v2`: returns its static header. It runs
 * none of the operators' code.
 */
typedef OplinkPluginHeader const * (*OplinkEntryFn)(void);

/* Creates an instance from a JSON configuration; `host` outlives the instance. */
typedef OplinkStatus (*OplinkCreateFn)(OplinkHostApi const *host, OplinkStrView config, OplinkInstance * *out, OplinkErrorOut *err);

/* Destroys an instance; a panic while dropping it is reported, not raised. */
typedef OplinkStatus (*OplinkDestroyFn)(OplinkInstance *instance, OplinkErrorOut *err);

/* Transforms one change. The arrays of `input` move to the callee, which may also write
 * over `*input` itself: the caller finds what is left of its input (to release it) and
 * recognises it given back by its own record of the diff array. `out`, which the
 * caller passes zeroed (a callee that answers `OK` without writing it returned no
 * diffs), stays valid until the next call on the instance, and its arrays move to the
 * caller. Since 2.2 an
 * operator may return its input unchanged: `out` then has the input's diff array and
 * count, with every array moved back into the slot it came from.
 */
typedef OplinkStatus (*OplinkApplyFn)(OplinkInstance *instance, OplinkAbiChange *input, OplinkAbiChange *out, OplinkErrorOut *err);

/* Returns one row per requested row number, in order. */
typedef OplinkStatus (*OplinkPullFn)(OplinkInstance *instance, uint64_t const *rows, size_t row_count, OplinkAbiRows *out, OplinkErrorOut *err);

/* Lets time pass; `*produced` is 1 when `out` is written. The caller passes `out` zeroed
 * and `*produced` 0.
 */
typedef OplinkStatus (*OplinkTickFn)(OplinkInstance *instance, int64_t now_nanos, OplinkAbiChange *out, uint32_t *produced, OplinkErrorOut *err);

/* Persists pending state. */
typedef OplinkStatus (*OplinkFlushStateFn)(OplinkInstance *instance, OplinkErrorOut *err);

/* Serialises the instance's state; the caller releases `out` through its `release`. */
typedef OplinkStatus (*OplinkSnapshotFn)(OplinkInstance *instance, OplinkOwnedBuf *out, OplinkErrorOut *err);

/* Restores state written by `snapshot`. */
typedef OplinkStatus (*OplinkRestoreFn)(OplinkInstance *instance, OplinkBytesView snapshot, OplinkErrorOut *err);

/* Finds a host service by name and fingerprint: writes its table to `out` and returns
 * `OK`, or returns `ERROR` with `err` saying why (`INVALID_INPUT` for a null or misaligned
 * `out`).
 */
typedef OplinkStatus (*OplinkLookupServiceFn)(OplinkHostApi const *host, OplinkStrView name, uint64_t fingerprint, void const * *out, OplinkErrorOut *err);

/* A borrowed UTF-8 string: valid for the call it is passed to, or for the life of the
 * library when it sits in a static table. The reader validates the UTF-8.
 */
struct OplinkStrView {
    /* First byte; when `len` is 0, dangling or null (readers accept both). */
    uint8_t const *ptr;
    /* Length in bytes. */
    size_t len;
};

/* A borrowed byte string, valid for the call it is passed to. */
struct OplinkBytesView {
    /* First byte; when `len` is 0, dangling or null (readers accept both). */
    uint8_t const *ptr;
    /* Length in bytes. */
    size_t len;
};

/* A borrowed array of numbers, valid for the call it is passed to; the element type is
 * the one the signature names.
 */
struct OplinkSliceView {
    /* First element, aligned for its type; when `len` is 0, dangling or null (readers
     * accept both).
     */
    void const *ptr;
    /* Number of elements. */
    size_t len;
};

/* An owned byte buffer that travels with the function that frees it: the receiver reads
 * it, then calls `release` once, so the allocator that made it frees it.
 */
struct OplinkOwnedBuf {
    /* First byte; when `len` is 0, dangling or null. */
    uint8_t *ptr;
    /* Length in bytes. */
    size_t len;
    /* Capacity of the allocation, for the releasing side. */
    size_t capacity;
    /* Frees the buffer; null when there is nothing to free. When not null, the
     * receiver calls it exactly once, whatever `len` is.
     */
    OplinkReleaseBufFn release;
};

/* An owned array of numbers that travels with the function that frees it; the element
 * type is the one the signature names.
 */
struct OplinkOwnedVec {
    /* First element (null or dangling when `capacity` is 0). */
    void *ptr;
    /* Number of elements. */
    size_t len;
    /* Capacity of the allocation in elements, for the releasing side. */
    size_t capacity;
    /* Frees the array; null when there is nothing to free. When not null, the receiver
     * calls it exactly once, whatever `len` is.
     */
    OplinkReleaseVecFn release;
};

/* What a callee writes, every field of it, when it returns `ERROR`, `PANIC` or
 * `INVALID_INPUT`; the caller then reads it and releases its buffers. Since 2.2 a
 * caller need not zero it first (the host still does for plugins, whose older
 * minors may write only some fields); for any other status it is not read.
 */
struct OplinkErrorOut {
    /* The message, UTF-8. An empty message means the callee gave none. */
    OplinkOwnedBuf message;
    /* The source file where the error was made or the panic happened, UTF-8; empty when
     * unknown.
     */
    OplinkOwnedBuf file;
    /* Line in `file` (1-based; 0 when unknown). */
    uint32_t line;
    /* Column in `file` (1-based; 0 when unknown). */
    uint32_t column;
};

/* The layout facts of one ABI struct, carried in the header so that a host can say which
 * struct differs when fingerprints disagree.
 */
struct OplinkLayoutEntry {
    /* The struct's name, e.g. `OperatorVTable`. */
    OplinkStrView name;
    /* Its size in the writer. */
    uint32_t size;
    /* Its alignment in the writer. */
    uint32_t align;
    /* The fingerprint of its frozen prefix (names and types of its fields). */
    uint64_t fingerprint;
};

/* The static header behind the entry symbol. Its first 16 bytes (magic, size, major,
 * minor) are the same in every major, so any host can tell what it is looking at.
 */
struct OplinkPluginHeader {
    /* Always `OPLINK_MAGIC`. */
    uint8_t magic[8];
    /* The writer's `sizeof(OplinkPluginHeader)`. */
    uint32_t size;
    /* `OPLINK_ABI_MAJOR` of the writer. */
    uint16_t abi_major;
    /* `OPLINK_ABI_MINOR` of the writer. */
    uint16_t abi_minor;
    /* The fingerprint of the writer's ABI layout (`OPLINK_LAYOUT_FINGERPRINT`). */
    uint64_t layout_fingerprint;
    /* The layout entries behind the fingerprint (may be null when `layout_count` is 0). */
    OplinkLayoutEntry const *layouts;
    /* Number of layout entries. */
    size_t layout_count;
    /* Version of the oplink SDK (or of `oplink.h`) the library was built with. */
    OplinkStrView oplink_version;
    /* The compiler that built the library (`rustc --version`, or a C compiler's name). */
    OplinkStrView rustc_version;
    /* Target triple of the build. */
    OplinkStrView target;
    /* Build profile (`debug`, `release`, …). */
    OplinkStrView profile;
    /* `OPLINK_PANIC_UNWIND` or `OPLINK_PANIC_ABORT`, as the SDK was compiled. */
    uint32_t panic_strategy;
    /* Reserved, zero. */
    uint32_t reserved;
    /* The operator descriptors (may be null when `operator_count` is 0). */
    OplinkOperatorDescriptor const * const *operators;
    /* Number of operators. */
    size_t operator_count;
};

/* One operator of a library: its identity, its entry points and what it requires. */
struct OplinkOperatorDescriptor {
    /* The writer's `sizeof(OplinkOperatorDescriptor)`: fields beyond it are absent. */
    uint32_t size;
    /* Which optional methods the author wrote: `OPLINK_IMPLEMENTS_*` bits. */
    uint32_t implemented;
    /* The operator's name: 1 to 64 ASCII letters, digits, `_`, `-` or `.`, starting with
     * a letter; unique within the library.
     */
    OplinkStrView name;
    /* Its semantic version. */
    OplinkStrView version;
    /* A one-line description (may be empty). */
    OplinkStrView description;
    /* Its entry points. */
    OplinkOperatorVTable const *vtable;
    /* The host services it requires (may be null when `requires_count` is 0). */
    OplinkServiceRequirement const *requires_;
    /* Number of required services. */
    size_t requires_count;
#if OPLINK_BUILD_MINOR >= 1
    /* The panic strategy of the code that defines the operator (ABI 2.1): a plugin crate
     * built alone with `-C panic=abort` says so here even when the SDK was not. Absent
     * in 2.0 descriptors, which the header's strategy covers.
     */
    uint32_t panic_strategy;
    /* Reserved, zero (ABI 2.1). */
    uint32_t reserved;
#endif
};

/* One method of a host service as a plugin was built against it. */
struct OplinkServiceMethod {
    /* The method's name. */
    OplinkStrView name;
    /* Its signature as written in the trait, for messages. */
    OplinkStrView signature;
    /* The fingerprint of its name and of the C form of its parameter and return types. */
    uint64_t fingerprint;
};

/* A host service an operator requires: the host checks it before creating the instance. */
struct OplinkServiceRequirement {
    /* The service's name, e.g. `oplink.Log`. */
    OplinkStrView name;
    /* The fingerprint of the whole service (name and every method's fingerprint). */
    uint64_t fingerprint;
    /* Its methods, in table order. */
    OplinkServiceMethod const *methods;
    /* Number of methods. */
    size_t method_count;
};

/* The entry points of one operator. Every slot is filled: absent optional methods get
 * defaults, and the descriptor's `implemented` says which ones the author wrote.
 */
struct OplinkOperatorVTable {
    /* The writer's `sizeof(OplinkOperatorVTable)`. */
    uint32_t size;
    /* Reserved, zero. */
    uint32_t reserved;
    /* `new`. */
    OplinkCreateFn create;
    /* Dropping the instance. */
    OplinkDestroyFn destroy;
    /* `apply`. */
    OplinkApplyFn apply;
    /* `pull`. */
    OplinkPullFn pull;
    /* `tick`. */
    OplinkTickFn tick;
    /* `flush_state`. */
    OplinkFlushStateFn flush_state;
    /* `snapshot`. */
    OplinkSnapshotFn snapshot;
    /* `restore`. */
    OplinkRestoreFn restore;
};

/* What the host hands to `create`; it outlives the instance. */
struct OplinkHostApi {
    /* The writer's `sizeof(OplinkHostApi)`. */
    uint32_t size;
    /* Reserved, zero. */
    uint32_t reserved;
    /* Host-chosen identifier of the instance, unique within the host process. */
    uint64_t instance_id;
    /* Host-private data for `lookup_service`. */
    void *context;
    /* Service lookup. */
    OplinkLookupServiceFn lookup_service;
};

/* The start of every host service table: its size, then the host's context for the
 * table's functions, then one function per method in the trait's order.
 */
struct OplinkTableHeader {
    /* The writer's size of the whole table, in bytes. */
    size_t size;
    /* The host's context, passed first to every function of the table. */
    void const *context;
};

/* A batch passed as a service argument: the callee moves the array out (leaving it
 * released); the schema is borrowed for the call.
 */
struct OplinkAbiBatchRef {
    /* The batch as a struct array. */
    struct ArrowArray *array;
    /* The batch's schema, as a struct type. */
    struct ArrowSchema const *schema;
};

/* A batch returned from a service: the receiver owns and releases both. */
struct OplinkAbiBatch {
    /* The batch as a struct array. */
    struct ArrowArray array;
    /* The batch's schema, as a struct type. */
    struct ArrowSchema schema;
};

/* One batch of rows: an Arrow struct array (one child per column, its length the row
 * count, no nulls) and the rows' numbers (a `UInt64` array of the same length without
 * nulls, or a released array where a call has none).
 * `schema_id` names a slot (1 to `OPLINK_MAX_SCHEMA_ID`) of the receiver's schema cache
 * for this instance and direction. When `schema` is not null, the receiver stores it in
 * that slot (replacing what was there) before reading the batch; when it is null, the
 * slot must already hold the batch's schema. The receiver stores what it read, not the
 * pointer: an output's schema lives only until the next call on the instance, and a
 * later batch may name its slot. The arrays move to the receiver.
 */
struct OplinkAbiRows {
    /* The schema's slot, 1 to `OPLINK_MAX_SCHEMA_ID`; 0 only for an absent side. */
    uint64_t schema_id;
    /* The schema (a struct type, one child per column), or null: borrowed for the call
     * in an input; in an output, until the next call on the instance or its `destroy`.
     */
    struct ArrowSchema const *schema;
    /* The columns, as one struct array. */
    struct ArrowArray columns;
    /* The row numbers. */
    struct ArrowArray row_numbers;
};

/* One diff of a change: `kind` is an `OPLINK_DIFF_*`; the unused side of an insert or
 * a remove has schema id 0 and released arrays.
 */
struct OplinkAbiDiff {
    /* `OPLINK_DIFF_INSERT`, `OPLINK_DIFF_UPDATE` or `OPLINK_DIFF_REMOVE`. */
    uint32_t kind;
    /* Reserved, zero. */
    uint32_t reserved;
    /* The rows before the change (update, remove). */
    OplinkAbiRows pre;
    /* The rows after the change (insert, update). */
    OplinkAbiRows post;
};

/* A change. The diff array is borrowed for the call (input) or until the next call on
 * the instance (output); the Arrow arrays inside it move to the receiver, which reads
 * the diffs in order (a schema slot may be reused by a later diff of the same change).
 */
struct OplinkAbiChange {
    /* Monotonic version of the change. */
    uint64_t version;
    /* When it happened, in nanoseconds since the Unix epoch. */
    int64_t changed_at;
    /* First diff (may be null when `diff_count` is 0). */
    OplinkAbiDiff *diffs;
    /* Number of diffs. */
    size_t diff_count;
};

/* ---- The standard host services ------------------------------------ */

/* A string literal as an OplinkStrView. */
#ifdef __cplusplus
#define OPLINK_STR(literal) { reinterpret_cast<uint8_t const *>(literal), sizeof(literal) - 1 }
#else
#define OPLINK_STR(literal) { (uint8_t const *)(literal), sizeof(literal) - 1 }
#endif

/* Log levels, for OplinkLogTable.message and max_level. */
#define OPLINK_LOG_OFF 0
#define OPLINK_LOG_ERROR 1
#define OPLINK_LOG_WARN 2
#define OPLINK_LOG_INFO 3
#define OPLINK_LOG_DEBUG 4
#define OPLINK_LOG_TRACE 5

#ifndef OPLINK_LOG_DECLARED
#define OPLINK_LOG_DECLARED
/* The table of the host service `oplink.Log` (fingerprint 0xa755e8b416758270). */
typedef struct OplinkLogTable {
    OplinkTableHeader header;
    OplinkStatus (*max_level)(void const *context, uint8_t *out, OplinkErrorOut *err);
    OplinkStatus (*event)(void const *context, OplinkBytesView event, uint8_t *out, OplinkErrorOut *err);
    OplinkStatus (*message)(void const *context, uint8_t level, OplinkStrView target, OplinkStrView text, uint8_t *out, OplinkErrorOut *err);
} OplinkLogTable;
#define OPLINK_LOG_NAME "oplink.Log"
#define OPLINK_LOG_FINGERPRINT 0xa755e8b416758270ull
#define OPLINK_LOG_METHOD_COUNT 3
#define OPLINK_LOG_METHODS { \
    { OPLINK_STR("max_level"), OPLINK_STR("fn max_level(&self) -> u8"), 0xcfb34d0ac114679bull }, \
    { OPLINK_STR("event"), OPLINK_STR("fn event(&self, event: LogEvent)"), 0x42c6857d617c53b9ull }, \
    { OPLINK_STR("message"), OPLINK_STR("fn message(&self, level: u8, target: &str, text: &str)"), 0xce68c608222040c3ull }, \
}
#endif

#ifndef OPLINK_STATE_DECLARED
#define OPLINK_STATE_DECLARED
#ifndef OPLINK_DEFINED_OplinkOptionOwnedVec
#define OPLINK_DEFINED_OplinkOptionOwnedVec
typedef struct { uint8_t present; OplinkOwnedVec value; } OplinkOptionOwnedVec;
#endif
/* The table of the host service `oplink.State` (fingerprint 0xe1100a167eea8f06). */
typedef struct OplinkStateTable {
    OplinkTableHeader header;
    OplinkStatus (*get)(void const *context, OplinkSliceView key, OplinkOptionOwnedVec *out, OplinkErrorOut *err);
    OplinkStatus (*put)(void const *context, OplinkSliceView key, OplinkSliceView value, uint8_t *out, OplinkErrorOut *err);
    OplinkStatus (*delete_)(void const *context, OplinkSliceView key, uint8_t *out, OplinkErrorOut *err);
    OplinkStatus (*scan_prefix)(void const *context, OplinkSliceView prefix, OplinkOwnedBuf *out, OplinkErrorOut *err);
} OplinkStateTable;
#define OPLINK_STATE_NAME "oplink.State"
#define OPLINK_STATE_FINGERPRINT 0xe1100a167eea8f06ull
#define OPLINK_STATE_METHOD_COUNT 4
#define OPLINK_STATE_METHODS { \
    { OPLINK_STR("get"), OPLINK_STR("fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>"), 0x73b351004d6d3294ull }, \
    { OPLINK_STR("put"), OPLINK_STR("fn put(&self, key: &[u8], value: &[u8]) -> Result<()>"), 0x1262fae1a46e318aull }, \
    { OPLINK_STR("delete"), OPLINK_STR("fn delete(&self, key: &[u8]) -> Result<bool>"), 0x63c7086aee4874e0ull }, \
    { OPLINK_STR("scan_prefix"), OPLINK_STR("fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries>"), 0x8c5005eabd79de0dull }, \
}
#endif

#ifndef OPLINK_CLOCK_DECLARED
#define OPLINK_CLOCK_DECLARED
/* The table of the host service `oplink.Clock` (fingerprint 0x6d72ec46c0f44dab). */
typedef struct OplinkClockTable {
    OplinkTableHeader header;
    OplinkStatus (*now_nanos)(void const *context, int64_t *out, OplinkErrorOut *err);
} OplinkClockTable;
#define OPLINK_CLOCK_NAME "oplink.Clock"
#define OPLINK_CLOCK_FINGERPRINT 0x6d72ec46c0f44dabull
#define OPLINK_CLOCK_METHOD_COUNT 1
#define OPLINK_CLOCK_METHODS { \
    { OPLINK_STR("now_nanos"), OPLINK_STR("fn now_nanos(&self) -> i64"), 0xa69749c4359e12c8ull }, \
}
#endif

/* Standard, but not required: a host may offer it (oplink's does) and an operator may
 * look it up without listing it; a Rust operator forwards its spans through it when there. */
#ifndef OPLINK_SPANS_DECLARED
#define OPLINK_SPANS_DECLARED
/* The table of the host service `oplink.Spans` (fingerprint 0xfdbe83af82a35cb4). */
typedef struct OplinkSpansTable {
    OplinkTableHeader header;
    OplinkStatus (*open)(void const *context, OplinkBytesView span, uint64_t *out, OplinkErrorOut *err);
    OplinkStatus (*record)(void const *context, uint64_t span, OplinkBytesView fields, uint8_t *out, OplinkErrorOut *err);
    OplinkStatus (*enter)(void const *context, uint64_t span, uint8_t *out, OplinkErrorOut *err);
    OplinkStatus (*exit)(void const *context, uint64_t span, uint8_t *out, OplinkErrorOut *err);
    OplinkStatus (*close)(void const *context, uint64_t span, uint8_t *out, OplinkErrorOut *err);
} OplinkSpansTable;
#define OPLINK_SPANS_NAME "oplink.Spans"
#define OPLINK_SPANS_FINGERPRINT 0xfdbe83af82a35cb4ull
#define OPLINK_SPANS_METHOD_COUNT 5
#define OPLINK_SPANS_METHODS { \
    { OPLINK_STR("open"), OPLINK_STR("fn open(&self, span: LogSpan) -> u64"), 0x3ba3831abb7ccfd6ull }, \
    { OPLINK_STR("record"), OPLINK_STR("fn record(&self, span: u64, fields: LogFields)"), 0xf0113a4e49786bb8ull }, \
    { OPLINK_STR("enter"), OPLINK_STR("fn enter(&self, span: u64)"), 0xdb84eb8ac9313766ull }, \
    { OPLINK_STR("exit"), OPLINK_STR("fn exit(&self, span: u64)"), 0x20fdd4601042492cull }, \
    { OPLINK_STR("close"), OPLINK_STR("fn close(&self, span: u64)"), 0x294e33a88e3e0250ull }, \
}
#endif

/* Not a standard service: an operator that calls it lists it in its requirements, and
 * a host that does not provide it (`oplink run` does, with `--lookup`) refuses it. */
#ifndef OPLINK_LOOKUP_DECLARED
#define OPLINK_LOOKUP_DECLARED
#ifndef OPLINK_DEFINED_OplinkOptionOwnedBuf
#define OPLINK_DEFINED_OplinkOptionOwnedBuf
typedef struct { uint8_t present; OplinkOwnedBuf value; } OplinkOptionOwnedBuf;
#endif
/* The table of the host service `oplink.Lookup` (fingerprint 0x0d7a42b4051addfb). */
typedef struct OplinkLookupTable {
    OplinkTableHeader header;
    OplinkStatus (*get)(void const *context, OplinkStrView table, OplinkStrView key, OplinkOptionOwnedBuf *out, OplinkErrorOut *err);
} OplinkLookupTable;
#define OPLINK_LOOKUP_NAME "oplink.Lookup"
#define OPLINK_LOOKUP_FINGERPRINT 0x0d7a42b4051addfbull
#define OPLINK_LOOKUP_METHOD_COUNT 1
#define OPLINK_LOOKUP_METHODS { \
    { OPLINK_STR("get"), OPLINK_STR("fn get(&self, table: &str, key: &str) -> Result<Option<String>>"), 0x774079914791d55dull }, \
}
#endif

/* ---- Layout checks ------------------------------------------------- */

/* In-struct alignment of 64-bit integers: 8 on most targets, 4 on 32-bit x86. */
typedef struct { char c; uint64_t v; } OplinkAlignProbe_;
#define OPLINK_U64_ALIGN_ offsetof(OplinkAlignProbe_, v)

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
#define OPLINK_LAYOUT_(lp64, ilp32, i386) (lp64)
#elif UINTPTR_MAX == 0xFFFFFFFFu
#define OPLINK_LAYOUT_(lp64, ilp32, i386) (OPLINK_U64_ALIGN_ == 8 ? (ilp32) : (i386))
#else
#error "oplink supports 32-bit and 64-bit targets"
#endif

OPLINK_STATIC_ASSERT(sizeof(OplinkStrView) == OPLINK_LAYOUT_(16, 8, 8), "size of OplinkStrView");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkStrView) == OPLINK_LAYOUT_(8, 4, 4), "alignment of OplinkStrView");
OPLINK_STATIC_ASSERT(offsetof(OplinkStrView, ptr) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkStrView.ptr");
OPLINK_STATIC_ASSERT(offsetof(OplinkStrView, len) == OPLINK_LAYOUT_(8, 4, 4), "offset of OplinkStrView.len");

OPLINK_STATIC_ASSERT(sizeof(OplinkBytesView) == OPLINK_LAYOUT_(16, 8, 8), "size of OplinkBytesView");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkBytesView) == OPLINK_LAYOUT_(8, 4, 4), "alignment of OplinkBytesView");
OPLINK_STATIC_ASSERT(offsetof(OplinkBytesView, ptr) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkBytesView.ptr");
OPLINK_STATIC_ASSERT(offsetof(OplinkBytesView, len) == OPLINK_LAYOUT_(8, 4, 4), "offset of OplinkBytesView.len");

OPLINK_STATIC_ASSERT(sizeof(OplinkSliceView) == OPLINK_LAYOUT_(16, 8, 8), "size of OplinkSliceView");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkSliceView) == OPLINK_LAYOUT_(8, 4, 4), "alignment of OplinkSliceView");
OPLINK_STATIC_ASSERT(offsetof(OplinkSliceView, ptr) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkSliceView.ptr");
OPLINK_STATIC_ASSERT(offsetof(OplinkSliceView, len) == OPLINK_LAYOUT_(8, 4, 4), "offset of OplinkSliceView.len");

OPLINK_STATIC_ASSERT(sizeof(OplinkOwnedBuf) == OPLINK_LAYOUT_(32, 16, 16), "size of OplinkOwnedBuf");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkOwnedBuf) == OPLINK_LAYOUT_(8, 4, 4), "alignment of OplinkOwnedBuf");
OPLINK_STATIC_ASSERT(offsetof(OplinkOwnedBuf, ptr) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkOwnedBuf.ptr");
OPLINK_STATIC_ASSERT(offsetof(OplinkOwnedBuf, len) == OPLINK_LAYOUT_(8, 4, 4), "offset of OplinkOwnedBuf.len");
OPLINK_STATIC_ASSERT(offsetof(OplinkOwnedBuf, capacity) == OPLINK_LAYOUT_(16, 8, 8), "offset of OplinkOwnedBuf.capacity");
OPLINK_STATIC_ASSERT(offsetof(OplinkOwnedBuf, release) == OPLINK_LAYOUT_(24, 12, 12), "offset of OplinkOwnedBuf.release");

OPLINK_STATIC_ASSERT(sizeof(OplinkOwnedVec) == OPLINK_LAYOUT_(32, 16, 16), "size of OplinkOwnedVec");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkOwnedVec) == OPLINK_LAYOUT_(8, 4, 4), "alignment of OplinkOwnedVec");
OPLINK_STATIC_ASSERT(offsetof(OplinkOwnedVec, ptr) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkOwnedVec.ptr");
OPLINK_STATIC_ASSERT(offsetof(OplinkOwnedVec, len) == OPLINK_LAYOUT_(8, 4, 4), "offset of OplinkOwnedVec.len");
OPLINK_STATIC_ASSERT(offsetof(OplinkOwnedVec, capacity) == OPLINK_LAYOUT_(16, 8, 8), "offset of OplinkOwnedVec.capacity");
OPLINK_STATIC_ASSERT(offsetof(OplinkOwnedVec, release) == OPLINK_LAYOUT_(24, 12, 12), "offset of OplinkOwnedVec.release");

OPLINK_STATIC_ASSERT(sizeof(OplinkErrorOut) == OPLINK_LAYOUT_(72, 40, 40), "size of OplinkErrorOut");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkErrorOut) == OPLINK_LAYOUT_(8, 4, 4), "alignment of OplinkErrorOut");
OPLINK_STATIC_ASSERT(offsetof(OplinkErrorOut, message) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkErrorOut.message");
OPLINK_STATIC_ASSERT(offsetof(OplinkErrorOut, file) == OPLINK_LAYOUT_(32, 16, 16), "offset of OplinkErrorOut.file");
OPLINK_STATIC_ASSERT(offsetof(OplinkErrorOut, line) == OPLINK_LAYOUT_(64, 32, 32), "offset of OplinkErrorOut.line");
OPLINK_STATIC_ASSERT(offsetof(OplinkErrorOut, column) == OPLINK_LAYOUT_(68, 36, 36), "offset of OplinkErrorOut.column");

OPLINK_STATIC_ASSERT(sizeof(OplinkLayoutEntry) == OPLINK_LAYOUT_(32, 24, 24), "size of OplinkLayoutEntry");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkLayoutEntry) == OPLINK_LAYOUT_(8, 8, 4), "alignment of OplinkLayoutEntry");
OPLINK_STATIC_ASSERT(offsetof(OplinkLayoutEntry, name) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkLayoutEntry.name");
OPLINK_STATIC_ASSERT(offsetof(OplinkLayoutEntry, size) == OPLINK_LAYOUT_(16, 8, 8), "offset of OplinkLayoutEntry.size");
OPLINK_STATIC_ASSERT(offsetof(OplinkLayoutEntry, align) == OPLINK_LAYOUT_(20, 12, 12), "offset of OplinkLayoutEntry.align");
OPLINK_STATIC_ASSERT(offsetof(OplinkLayoutEntry, fingerprint) == OPLINK_LAYOUT_(24, 16, 16), "offset of OplinkLayoutEntry.fingerprint");

OPLINK_STATIC_ASSERT(sizeof(OplinkPluginHeader) == OPLINK_LAYOUT_(128, 80, 80), "size of OplinkPluginHeader");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkPluginHeader) == OPLINK_LAYOUT_(8, 8, 4), "alignment of OplinkPluginHeader");
OPLINK_STATIC_ASSERT(offsetof(OplinkPluginHeader, magic) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkPluginHeader.magic");
OPLINK_STATIC_ASSERT(offsetof(OplinkPluginHeader, size) == OPLINK_LAYOUT_(8, 8, 8), "offset of OplinkPluginHeader.size");
OPLINK_STATIC_ASSERT(offsetof(OplinkPluginHeader, abi_major) == OPLINK_LAYOUT_(12, 12, 12), "offset of OplinkPluginHeader.abi_major");
OPLINK_STATIC_ASSERT(offsetof(OplinkPluginHeader, abi_minor) == OPLINK_LAYOUT_(14, 14, 14), "offset of OplinkPluginHeader.abi_minor");
OPLINK_STATIC_ASSERT(offsetof(OplinkPluginHeader, layout_fingerprint) == OPLINK_LAYOUT_(16, 16, 16), "offset of OplinkPluginHeader.layout_fingerprint");
OPLINK_STATIC_ASSERT(offsetof(OplinkPluginHeader, layouts) == OPLINK_LAYOUT_(24, 24, 24), "offset of OplinkPluginHeader.layouts");
OPLINK_STATIC_ASSERT(offsetof(OplinkPluginHeader, layout_count) == OPLINK_LAYOUT_(32, 28, 28), "offset of OplinkPluginHeader.layout_count");
OPLINK_STATIC_ASSERT(offsetof(OplinkPluginHeader, oplink_version) == OPLINK_LAYOUT_(40, 32, 32), "offset of OplinkPluginHeader.oplink_version");
OPLINK_STATIC_ASSERT(offsetof(OplinkPluginHeader, rustc_version) == OPLINK_LAYOUT_(56, 40, 40), "offset of OplinkPluginHeader.rustc_version");
OPLINK_STATIC_ASSERT(offsetof(OplinkPluginHeader, target) == OPLINK_LAYOUT_(72, 48, 48), "offset of OplinkPluginHeader.target");
OPLINK_STATIC_ASSERT(offsetof(OplinkPluginHeader, profile) == OPLINK_LAYOUT_(88, 56, 56), "offset of OplinkPluginHeader.profile");
OPLINK_STATIC_ASSERT(offsetof(OplinkPluginHeader, panic_strategy) == OPLINK_LAYOUT_(104, 64, 64), "offset of OplinkPluginHeader.panic_strategy");
OPLINK_STATIC_ASSERT(offsetof(OplinkPluginHeader, reserved) == OPLINK_LAYOUT_(108, 68, 68), "offset of OplinkPluginHeader.reserved");
OPLINK_STATIC_ASSERT(offsetof(OplinkPluginHeader, operators) == OPLINK_LAYOUT_(112, 72, 72), "offset of OplinkPluginHeader.operators");
OPLINK_STATIC_ASSERT(offsetof(OplinkPluginHeader, operator_count) == OPLINK_LAYOUT_(120, 76, 76), "offset of OplinkPluginHeader.operator_count");

#if OPLINK_BUILD_MINOR == 0
OPLINK_STATIC_ASSERT(sizeof(OplinkOperatorDescriptor) == OPLINK_LAYOUT_(80, 44, 44), "size of OplinkOperatorDescriptor");
#endif
#if OPLINK_BUILD_MINOR >= 1
OPLINK_STATIC_ASSERT(sizeof(OplinkOperatorDescriptor) == OPLINK_LAYOUT_(88, 52, 52), "size of OplinkOperatorDescriptor");
#endif
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkOperatorDescriptor) == OPLINK_LAYOUT_(8, 4, 4), "alignment of OplinkOperatorDescriptor");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorDescriptor, size) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkOperatorDescriptor.size");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorDescriptor, implemented) == OPLINK_LAYOUT_(4, 4, 4), "offset of OplinkOperatorDescriptor.implemented");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorDescriptor, name) == OPLINK_LAYOUT_(8, 8, 8), "offset of OplinkOperatorDescriptor.name");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorDescriptor, version) == OPLINK_LAYOUT_(24, 16, 16), "offset of OplinkOperatorDescriptor.version");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorDescriptor, description) == OPLINK_LAYOUT_(40, 24, 24), "offset of OplinkOperatorDescriptor.description");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorDescriptor, vtable) == OPLINK_LAYOUT_(56, 32, 32), "offset of OplinkOperatorDescriptor.vtable");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorDescriptor, requires_) == OPLINK_LAYOUT_(64, 36, 36), "offset of OplinkOperatorDescriptor.requires_");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorDescriptor, requires_count) == OPLINK_LAYOUT_(72, 40, 40), "offset of OplinkOperatorDescriptor.requires_count");
#if OPLINK_BUILD_MINOR >= 1
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorDescriptor, panic_strategy) == OPLINK_LAYOUT_(80, 44, 44), "offset of OplinkOperatorDescriptor.panic_strategy");
#endif
#if OPLINK_BUILD_MINOR >= 1
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorDescriptor, reserved) == OPLINK_LAYOUT_(84, 48, 48), "offset of OplinkOperatorDescriptor.reserved");
#endif

OPLINK_STATIC_ASSERT(sizeof(OplinkServiceMethod) == OPLINK_LAYOUT_(40, 24, 24), "size of OplinkServiceMethod");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkServiceMethod) == OPLINK_LAYOUT_(8, 8, 4), "alignment of OplinkServiceMethod");
OPLINK_STATIC_ASSERT(offsetof(OplinkServiceMethod, name) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkServiceMethod.name");
OPLINK_STATIC_ASSERT(offsetof(OplinkServiceMethod, signature) == OPLINK_LAYOUT_(16, 8, 8), "offset of OplinkServiceMethod.signature");
OPLINK_STATIC_ASSERT(offsetof(OplinkServiceMethod, fingerprint) == OPLINK_LAYOUT_(32, 16, 16), "offset of OplinkServiceMethod.fingerprint");

OPLINK_STATIC_ASSERT(sizeof(OplinkServiceRequirement) == OPLINK_LAYOUT_(40, 24, 24), "size of OplinkServiceRequirement");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkServiceRequirement) == OPLINK_LAYOUT_(8, 8, 4), "alignment of OplinkServiceRequirement");
OPLINK_STATIC_ASSERT(offsetof(OplinkServiceRequirement, name) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkServiceRequirement.name");
OPLINK_STATIC_ASSERT(offsetof(OplinkServiceRequirement, fingerprint) == OPLINK_LAYOUT_(16, 8, 8), "offset of OplinkServiceRequirement.fingerprint");
OPLINK_STATIC_ASSERT(offsetof(OplinkServiceRequirement, methods) == OPLINK_LAYOUT_(24, 16, 16), "offset of OplinkServiceRequirement.methods");
OPLINK_STATIC_ASSERT(offsetof(OplinkServiceRequirement, method_count) == OPLINK_LAYOUT_(32, 20, 20), "offset of OplinkServiceRequirement.method_count");

OPLINK_STATIC_ASSERT(sizeof(OplinkOperatorVTable) == OPLINK_LAYOUT_(72, 40, 40), "size of OplinkOperatorVTable");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkOperatorVTable) == OPLINK_LAYOUT_(8, 4, 4), "alignment of OplinkOperatorVTable");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorVTable, size) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkOperatorVTable.size");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorVTable, reserved) == OPLINK_LAYOUT_(4, 4, 4), "offset of OplinkOperatorVTable.reserved");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorVTable, create) == OPLINK_LAYOUT_(8, 8, 8), "offset of OplinkOperatorVTable.create");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorVTable, destroy) == OPLINK_LAYOUT_(16, 12, 12), "offset of OplinkOperatorVTable.destroy");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorVTable, apply) == OPLINK_LAYOUT_(24, 16, 16), "offset of OplinkOperatorVTable.apply");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorVTable, pull) == OPLINK_LAYOUT_(32, 20, 20), "offset of OplinkOperatorVTable.pull");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorVTable, tick) == OPLINK_LAYOUT_(40, 24, 24), "offset of OplinkOperatorVTable.tick");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorVTable, flush_state) == OPLINK_LAYOUT_(48, 28, 28), "offset of OplinkOperatorVTable.flush_state");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorVTable, snapshot) == OPLINK_LAYOUT_(56, 32, 32), "offset of OplinkOperatorVTable.snapshot");
OPLINK_STATIC_ASSERT(offsetof(OplinkOperatorVTable, restore) == OPLINK_LAYOUT_(64, 36, 36), "offset of OplinkOperatorVTable.restore");

OPLINK_STATIC_ASSERT(sizeof(OplinkHostApi) == OPLINK_LAYOUT_(32, 24, 24), "size of OplinkHostApi");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkHostApi) == OPLINK_LAYOUT_(8, 8, 4), "alignment of OplinkHostApi");
OPLINK_STATIC_ASSERT(offsetof(OplinkHostApi, size) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkHostApi.size");
OPLINK_STATIC_ASSERT(offsetof(OplinkHostApi, reserved) == OPLINK_LAYOUT_(4, 4, 4), "offset of OplinkHostApi.reserved");
OPLINK_STATIC_ASSERT(offsetof(OplinkHostApi, instance_id) == OPLINK_LAYOUT_(8, 8, 8), "offset of OplinkHostApi.instance_id");
OPLINK_STATIC_ASSERT(offsetof(OplinkHostApi, context) == OPLINK_LAYOUT_(16, 16, 16), "offset of OplinkHostApi.context");
OPLINK_STATIC_ASSERT(offsetof(OplinkHostApi, lookup_service) == OPLINK_LAYOUT_(24, 20, 20), "offset of OplinkHostApi.lookup_service");

OPLINK_STATIC_ASSERT(sizeof(OplinkTableHeader) == OPLINK_LAYOUT_(16, 8, 8), "size of OplinkTableHeader");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkTableHeader) == OPLINK_LAYOUT_(8, 4, 4), "alignment of OplinkTableHeader");
OPLINK_STATIC_ASSERT(offsetof(OplinkTableHeader, size) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkTableHeader.size");
OPLINK_STATIC_ASSERT(offsetof(OplinkTableHeader, context) == OPLINK_LAYOUT_(8, 4, 4), "offset of OplinkTableHeader.context");

OPLINK_STATIC_ASSERT(sizeof(OplinkAbiBatchRef) == OPLINK_LAYOUT_(16, 8, 8), "size of OplinkAbiBatchRef");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkAbiBatchRef) == OPLINK_LAYOUT_(8, 4, 4), "alignment of OplinkAbiBatchRef");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiBatchRef, array) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkAbiBatchRef.array");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiBatchRef, schema) == OPLINK_LAYOUT_(8, 4, 4), "offset of OplinkAbiBatchRef.schema");

OPLINK_STATIC_ASSERT(sizeof(OplinkAbiBatch) == OPLINK_LAYOUT_(152, 112, 104), "size of OplinkAbiBatch");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkAbiBatch) == OPLINK_LAYOUT_(8, 8, 4), "alignment of OplinkAbiBatch");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiBatch, array) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkAbiBatch.array");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiBatch, schema) == OPLINK_LAYOUT_(80, 64, 60), "offset of OplinkAbiBatch.schema");

OPLINK_STATIC_ASSERT(sizeof(OplinkAbiRows) == OPLINK_LAYOUT_(176, 144, 132), "size of OplinkAbiRows");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkAbiRows) == OPLINK_LAYOUT_(8, 8, 4), "alignment of OplinkAbiRows");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiRows, schema_id) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkAbiRows.schema_id");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiRows, schema) == OPLINK_LAYOUT_(8, 8, 8), "offset of OplinkAbiRows.schema");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiRows, columns) == OPLINK_LAYOUT_(16, 16, 12), "offset of OplinkAbiRows.columns");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiRows, row_numbers) == OPLINK_LAYOUT_(96, 80, 72), "offset of OplinkAbiRows.row_numbers");

OPLINK_STATIC_ASSERT(sizeof(OplinkAbiDiff) == OPLINK_LAYOUT_(360, 296, 272), "size of OplinkAbiDiff");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkAbiDiff) == OPLINK_LAYOUT_(8, 8, 4), "alignment of OplinkAbiDiff");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiDiff, kind) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkAbiDiff.kind");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiDiff, reserved) == OPLINK_LAYOUT_(4, 4, 4), "offset of OplinkAbiDiff.reserved");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiDiff, pre) == OPLINK_LAYOUT_(8, 8, 8), "offset of OplinkAbiDiff.pre");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiDiff, post) == OPLINK_LAYOUT_(184, 152, 140), "offset of OplinkAbiDiff.post");

OPLINK_STATIC_ASSERT(sizeof(OplinkAbiChange) == OPLINK_LAYOUT_(32, 24, 24), "size of OplinkAbiChange");
OPLINK_STATIC_ASSERT(OPLINK_ALIGNOF(OplinkAbiChange) == OPLINK_LAYOUT_(8, 8, 4), "alignment of OplinkAbiChange");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiChange, version) == OPLINK_LAYOUT_(0, 0, 0), "offset of OplinkAbiChange.version");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiChange, changed_at) == OPLINK_LAYOUT_(8, 8, 8), "offset of OplinkAbiChange.changed_at");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiChange, diffs) == OPLINK_LAYOUT_(16, 16, 16), "offset of OplinkAbiChange.diffs");
OPLINK_STATIC_ASSERT(offsetof(OplinkAbiChange, diff_count) == OPLINK_LAYOUT_(24, 20, 20), "offset of OplinkAbiChange.diff_count");

#ifdef __cplusplus
}
#endif

#endif /* OPLINK_H */
