/*
 * napi_ledger_audit.c: an LD_AUDIT library that keeps a call-site ledger of
 * every Node-API acquire/release made by native addons (*.node).
 *
 *   cc -shared -fPIC -O2 -fno-omit-frame-pointer -std=gnu11 \
 *      -o libnapi_ledger_audit.so napi_ledger_audit.c -ldl
 *   NAPI_HEAPDIFF_NATIVE_DIR=/tmp/out LD_AUDIT=$PWD/libnapi_ledger_audit.so node app.js
 *
 * How it works (the file's layout, as read, is LAYOUT in src/native-ledger/read-ledger.ts):
 * - la_objopen flags every object whose path ends in ".node" (or contains a
 *   NAPI_HEAPDIFF_NATIVE_MATCH substring) with LA_FLG_BINDFROM, all others
 *   with LA_FLG_BINDTO. glibc then calls la_symbind64 for each symbol an addon
 *   binds (PLT fix-up, BIND_NOW relocation, or dlsym called from the addon),
 *   and we return the address of a wrapper for the tracked napi_* functions.
 *   The wrapper calls the original (sym->st_value) and books successful calls.
 * - A call site is the chain of return addresses inside addon objects, up to
 *   NAPI_HEAPDIFF_NATIVE_DEPTH (default 4) frames, found by a small x86-64
 *   DWARF-CFI unwinder that caches one CFA rule per return address, plus a
 *   per-thread memo (return address -> last chain) checked frame by frame.
 *   For napi_async_init, napi_create_async_work and napi_create_threadsafe_function
 *   the async resource name (read with the real napi_get_value_string_utf8, at
 *   most 95 bytes, interned in the file) is part of the site key too.
 * - All state lives in a MAP_SHARED file, $NAPI_HEAPDIFF_NATIVE_DIR/
 *   native-<pid>.bin, created on the first wrapped binding. Any process
 *   (the program's own JS agent, or the parent after exit) can copy/read it.
 * - Hot paths take no lock and, for handles that belong to one napi_env
 *   (all kinds except thread-safe functions and cleanup hooks), do no atomic
 *   read-modify-write either: each thread owns a segment of the file (its
 *   open-handle table and its per-site counters). Thread-safe functions and
 *   cleanup hooks use a global CAS table. A reader sums global + segments.
 *
 * The library never prints, keeps errno, and changes no exit code or signal
 * disposition. With NAPI_HEAPDIFF_NATIVE_DIR unset it does nothing at all, and
 * it creates no file in processes that never bind a tracked napi_* function.
 *
 * x86-64 Linux, glibc. C11 + GNU builtins; no dependency beyond libc/libdl
 * (libgcc_s is dlopen'ed only in NAPI_HEAPDIFF_NATIVE_VERIFY=1 mode).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <emmintrin.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "napi_ledger_audit: only x86-64 is supported (the unwinder reads x86-64 CFI)"
#endif
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-omit-frame-pointer")
#endif

#define LEDGER_VERSION 2
#define LEDGER_MAGIC "NAPILDGR"
#define SEG_MAGIC 0x31474553u /* "SEG1" */
#define MAX_DEPTH 8
#define NO_OBJ 0xFFFu
#define NO_SITE 0xFFFFFFFFu
#define NO_SLOT 0xFFFFFFFFu

/* ------------------------------------------------------------------------ */
/* Kinds ("pairs") and handle classes                                        */
/* ------------------------------------------------------------------------ */
enum pair_kind {
  P_NONE = 0,
  P_ASYNC_INIT = 1,       /* napi_async_init / napi_async_destroy */
  P_CALLBACK_SCOPE = 2,   /* napi_open_callback_scope / napi_close_callback_scope */
  P_CREATE_REF = 3,       /* napi_create_reference / napi_delete_reference */
  P_WRAP_REF = 4,         /* napi_wrap(result != NULL) / napi_delete_reference */
  P_FINALIZER_REF = 5,    /* napi_add_finalizer(result != NULL) / napi_delete_reference */
  P_ASYNC_WORK = 6,       /* napi_create_async_work / napi_delete_async_work */
  P_TSFN = 7,             /* napi_create_threadsafe_function / release (count -> 0 or abort) */
  P_ENV_HOOK = 8,         /* napi_add_env_cleanup_hook / napi_remove_env_cleanup_hook */
  P_ASYNC_HOOK = 9,       /* napi_add_async_cleanup_hook / napi_remove_async_cleanup_hook */
  P_HANDLE_SCOPE = 10,    /* napi_open_handle_scope / napi_close_handle_scope */
  P_ESC_SCOPE = 11,       /* napi_open_escapable_handle_scope / ..._close_... */
  P_COUNT = 12
};

/* Handle class: the key space in the open-handle tables. */
enum { C_ASYNC = 1, C_CBSCOPE = 2, C_REF = 3, C_WORK = 4, C_TSFN = 5, C_ENVHOOK = 6, C_ASYNCHOOK = 7, C_HSCOPE = 8, C_ESCOPE = 9 };
static const uint8_t pair_class[P_COUNT] = {0, C_ASYNC, C_CBSCOPE, C_REF, C_REF, C_REF, C_WORK, C_TSFN, C_ENVHOOK, C_ASYNCHOOK, C_HSCOPE, C_ESCOPE};
/* Classes whose handles belong to one napi_env (so to one thread): per-thread tables. */
static const uint8_t class_local[10] = {0, 1, 1, 1, 1, 0, 0, 0, 1, 1};

/* ------------------------------------------------------------------------ */
/* The shared file (format version 1; README.md documents every field)       */
/* ------------------------------------------------------------------------ */
typedef struct {
  char magic[8];                 /* "NAPILDGR", written last at creation */
  uint32_t version;              /* LEDGER_VERSION */
  uint32_t header_size;          /* sizeof(ledger_header) = 1024 */
  uint32_t pid;
  uint32_t max_depth;            /* frames per site (NAPI_HEAPDIFF_NATIVE_DEPTH) */
  uint64_t start_unix_ns;        /* CLOCK_REALTIME at creation */
  _Atomic uint64_t file_size;    /* grows when thread segments are appended */
  /* site table */
  uint32_t site_off, site_cap, site_entry_size;
  _Atomic uint32_t site_used;
  /* object table */
  uint32_t obj_off, obj_cap, obj_entry_size;
  _Atomic uint32_t obj_used;
  /* string table (object paths, NUL-terminated; offset 0 is "") */
  uint32_t str_off, str_cap;
  _Atomic uint32_t str_used;
  uint32_t flags;                /* bit0: release sites (default set), bit1: verify mode, bit2: release sites for all pairs,
                                    bit3: async names, bit4: handle scopes not tracked */
  /* global open-handle table: tags[cap] (u32) then entries[cap] */
  uint32_t open_tags_off, open_off, open_cap, open_entry_size;
  uint32_t open_group, open_window; /* slots per group, groups probed per key */
  /* thread segments: directory of u64 file offsets (0 = unused) */
  uint32_t seg_dir_off, seg_cap;
  _Atomic uint32_t seg_used;
  uint32_t seg_size;             /* bytes per segment (page multiple) */
  uint32_t seg_ctr_cap, seg_open_cap, seg_ctr_entry_size, seg_open_group;
  _Atomic uint64_t unmatched_release[16]; /* per pair: release of a handle found in no table */
  _Atomic uint64_t no_site[16];           /* per pair: acquisitions lost because the site table was full */
  _Atomic uint64_t untracked[16];         /* per pair: acquisitions not stored (open tables full) */
  _Atomic uint64_t failed_calls[16];      /* per pair: acquire/release calls that did not return napi_ok */
  /* unwinder and table statistics */
  _Atomic uint64_t memo_misses;           /* chains resolved by the slow path (site table lookup) */
  _Atomic uint64_t frames_computed;       /* return addresses whose CFA rule was computed (FDE + CFI) */
  _Atomic uint64_t chains_truncated;      /* slow-path chains stopped at an unsupported CFI rule */
  _Atomic uint64_t chains_tail;           /* slow-path chains whose frame 0 is outside any addon */
  _Atomic uint64_t verify_checked;        /* NAPI_HEAPDIFF_NATIVE_VERIFY: chains compared with libgcc */
  _Atomic uint64_t verify_mismatch;
  _Atomic uint64_t pc_cache_full;
  _Atomic uint64_t wrapped_bindings;      /* la_symbind64 calls answered with a wrapper */
  _Atomic uint64_t foreign_bindings;      /* napi_* bound to another definition than the first: not wrapped */
  _Atomic uint64_t refcount_unknown;      /* reference_ref/unref, acquire_threadsafe_function on an unknown handle */
  _Atomic uint64_t objects_closed;        /* addon objects unloaded (la_objclose) */
  _Atomic uint64_t no_segment;            /* threads that got no segment (cap reached): global path */
  _Atomic uint64_t global_live[16];       /* per class: live entries in the global table */
  /* async resource names (version 2): interned in the string table through this hash table */
  uint32_t name_off, name_cap, name_entry_size;
  _Atomic uint32_t name_used;
  uint32_t name_buf;                      /* bytes read per name, NUL included (longer names are cut) */
  uint32_t reserved0;
  _Atomic uint64_t names_unreadable;      /* named acquisitions whose resource name was not a string */
  _Atomic uint64_t names_dropped;         /* names that found no room (name table / string table full) */
  uint64_t reserved1[13];
} ledger_header;

typedef struct {
  _Atomic uint32_t state_hash;   /* low 2 bits: 0 empty, 1 busy, 2 ready; high 30: key hash */
  uint16_t pair;                 /* enum pair_kind */
  uint8_t depth;                 /* frames used */
  uint8_t flags;                 /* SF_* */
  uint32_t obj[MAX_DEPTH];       /* object index per frame (NO_OBJ: code in no known object) */
  uint64_t off[MAX_DEPTH];       /* return address - object load bias (absolute if NO_OBJ) */
  /* global counters (atomic); per-thread segments hold more of the same, to be added */
  _Atomic uint64_t acquired;     /* successful acquisitions at this site */
  _Atomic uint64_t released;     /* releases of handles acquired here (made anywhere) */
  _Atomic uint64_t released_here;/* releases made at this site (SF_RELEASE sites) */
  _Atomic uint64_t lost;         /* acquired here, value acquired again while still open (missed release) */
  _Atomic uint64_t untracked;    /* acquired here, not stored in any open table (full) */
  _Atomic uint64_t teardown;     /* acquired here, ended by Node at env teardown (env cleanup hooks run) */
  uint32_t name_off, name_len;   /* SF_NAMED: async resource name (string table; part of the site key) */
} site_entry; /* 160 bytes */

#define SF_RELEASE 1      /* the site where releases are made (not an acquisition site) */
#define SF_TRUNCATED 2    /* unwinding stopped at an unsupported CFI rule */
#define SF_TAIL 4         /* frame 0 is outside any addon: the addon tail-called napi_* */
#define SF_DEPTH_LIMIT 8  /* max_depth reached while still inside addon code */
#define SF_NAMED 16       /* name_off/name_len hold the async resource name */
#define SF_NAME_CUT 32    /* the name filled the read buffer: it may be longer (cut at NAME_BUF - 1 bytes) */

/* Interned async resource names: open addressing, insert-only, CAS on state_hash. */
typedef struct {
  _Atomic uint32_t state_hash;   /* low 2 bits: 0 empty, 1 busy, 2 ready; high 30: hash */
  uint32_t str_off;              /* string table offset, 8-byte aligned, zero-padded to 8 bytes */
  uint32_t len;                  /* bytes (no NUL); NAME_NONE: no room was left, entry unusable */
  uint32_t reserved;
} name_entry; /* 16 bytes */
#define NAME_BUF 96               /* bytes read per name, NUL included */
#define NAME_WORDS (NAME_BUF / 8)
#define NAME_NONE 0xFFFFFFFFu
#define NAME_CAP 4096

typedef struct {
  _Atomic uint32_t state;        /* 0 empty, 2 ready */
  uint32_t flags;                /* OF_* */
  uint32_t path_off, path_len;   /* into the string table */
  uint64_t base;                 /* load bias (link_map l_addr) */
  uint64_t lo, hi;               /* mapped address range of the PT_LOAD segments */
  uint8_t build_id_len;
  uint8_t build_id[23];
  uint64_t eh_frame_hdr;         /* vaddr of PT_GNU_EH_FRAME (0: none) */
  uint64_t reserved[3];
} obj_entry; /* 96 bytes */

#define OF_ADDON 1
#define OF_CLOSED 2
#define OF_MAIN 4

typedef struct {
  uint64_t h1, h2;               /* handle value (h2: cleanup-hook arg, else 0) */
  uint32_t site;                 /* acquiring site index */
  uint16_t pair;                 /* enum pair_kind of the acquisition */
  uint16_t flags;
  _Atomic int64_t count;         /* reference refcount / TSFN thread count / 1 */
  uint32_t slot;                 /* per-thread counter slot of the acquiring site (local tables),
                                    closure index (env hooks), else NO_SLOT */
  uint32_t tid;                  /* acquiring thread (kernel tid) */
} open_entry; /* 40 bytes */

/* tag word: low 2 bits state, high 30 bits key hash */
#define OT_EMPTY 0u
#define OT_BUSY 1u
#define OT_LIVE 2u
#define OT_CLAIMED 3u
#define OPEN_GROUP 16
#define OPEN_WINDOW 2

typedef struct {
  _Atomic uint32_t site1;        /* site index + 1 (0: free slot) */
  uint32_t reserved0;
  _Atomic uint64_t acquired, released, released_here, lost, untracked, teardown;
  uint64_t reserved1;
} seg_ctr; /* 64 bytes; same counters as site_entry, written only by the owning thread */

typedef struct {
  uint32_t magic;                /* SEG_MAGIC, written last */
  uint32_t tid;                  /* kernel thread id of the owner */
  uint32_t ctr_cap, open_cap;
  uint32_t ctr_off, tags_off, open_off; /* relative to the segment start */
  uint32_t index;                /* position in the directory */
  uint64_t created_unix_ns;
  _Atomic uint64_t overflow;     /* inserts that went to the global table (local table/stack full) */
  uint32_t hs_off, hs_cap;       /* handle-scope stack (hs_entry[hs_cap]) */
  _Atomic uint32_t hs_top;       /* entries [0, hs_top) are open handle/escapable scopes, oldest first */
  uint32_t recent_off;           /* ring of the most recent acquisitions (open_entry[recent_cap]) */
  uint32_t recent_cap;           /* live entries have flags & 1; older ones move to the table */
  uint32_t reserved0[3];
  uint64_t reserved1[6];
} seg_header; /* 128 bytes */

/* Handle scopes are strictly LIFO per thread (V8), so they live on a per-thread stack
   instead of the hash table: a close almost always pops the top entry. */
typedef struct {
  uint64_t h;                    /* napi_handle_scope / napi_escapable_handle_scope */
  uint32_t site;
  uint16_t pair;
  uint16_t flags;
  uint32_t slot;
  uint32_t reserved;
} hs_entry; /* 24 bytes */

_Static_assert(sizeof(ledger_header) == 1024, "header size");
_Static_assert(sizeof(site_entry) == 160, "site entry size");
_Static_assert(sizeof(obj_entry) == 96, "object entry size");
_Static_assert(sizeof(open_entry) == 40, "open entry size");
_Static_assert(sizeof(seg_ctr) == 64, "segment counter size");
_Static_assert(sizeof(seg_header) == 128, "segment header size");
_Static_assert(sizeof(hs_entry) == 24, "handle-scope entry size");
_Static_assert(sizeof(name_entry) == 16, "name entry size");

#define SEG_CTR_CAP 256
#define SEG_OPEN_CAP 4096
#define SEG_HS_CAP 1024
#define SEG_RECENT 16
#define OE_LIVE 1 /* open_entry.flags in the recent ring */

/* ------------------------------------------------------------------------ */
/* Global state (audit namespace, private)                                   */
/* ------------------------------------------------------------------------ */
static _Atomic int g_state;            /* 0 uninit, 1 initializing, 2 ready, 3 failed */
static ledger_header *g_hdr;
static site_entry *g_sites;
static obj_entry *g_fobjs;
static char *g_strs;
static _Atomic uint32_t *g_tags;
static open_entry *g_open;
static uint64_t *g_seg_dir;
static int g_fd = -1;
static name_entry *g_names;
static uint32_t g_site_mask, g_open_groups_mask;
static int g_depth = 4;
static int g_release_sites = 1; /* 0 none, 1 the cold pairs (RELSITE_DEFAULT), 2 all */
static uint32_t g_relsite_mask;  /* bit per pair: book the release call site (set by configure) */
/* Release sites by default only for pairs whose releases are rare enough not to matter:
   not for handle scopes, callback scopes and async contexts (opened and closed per call). */
#define RELSITE_DEFAULT ((1u << P_CREATE_REF) | (1u << P_WRAP_REF) | (1u << P_FINALIZER_REF) | (1u << P_ASYNC_WORK) | \
                         (1u << P_TSFN) | (1u << P_ENV_HOOK) | (1u << P_ASYNC_HOOK))
static int g_async_names = 1;   /* read async resource names into the site key */
static int g_scopes = 1;        /* wrap napi_open/close_(escapable_)handle_scope */
static int g_verify = 0;
static int g_configured = 0;
static const char *g_match[8];
static int g_nmatch;
static atomic_flag g_grow_lock = ATOMIC_FLAG_INIT;

typedef struct {
  uintptr_t lo, hi, base;
  const uint8_t *eh_hdr;          /* absolute address of .eh_frame_hdr, or NULL */
  uint32_t flags;
  _Atomic uint32_t closed;
  uint32_t file_idx;              /* == own index */
  uintptr_t map;                  /* struct link_map * (identity) */
  uintptr_t relro_lo, relro_hi;   /* PT_GNU_RELRO (read-only once relocated) */
  int got_patched;                /* GLOB_DAT/64 relocations to napi_* redirected (la_activity) */
} obj_t;

#define OBJ_CAP 1024
static obj_t g_objs[OBJ_CAP];
static _Atomic uint32_t g_nobjs;
static atomic_flag g_obj_lock = ATOMIC_FLAG_INIT;
static _Atomic uint32_t g_epoch = 1;

/* Per-return-address CFA rule cache (insert-only open addressing, shared by all threads). */
#define PC_CACHE_BITS 14
#define PC_CACHE_CAP (1u << PC_CACHE_BITS)
#define PC_PROBES 32
typedef struct {
  _Atomic uintptr_t pc;
  _Atomic uint64_t rule;
} pc_slot;
static pc_slot g_pc_cache[PC_CACHE_CAP];

/* rule word layout */
#define R_READY 1ull
#define R_TYPE(r) (((r) >> 1) & 3)
#define T_SP 0   /* addon frame, CFA = rsp + off */
#define T_BP 1   /* addon frame, CFA = rbp + off */
#define T_OUT 2  /* not addon code (stop; recorded only as frame 0) */
#define T_UNS 3  /* addon frame whose caller cannot be found (stop) */
#define R_OBJ(r) ((uint32_t)(((r) >> 3) & 0xFFF))
#define R_EPOCH(r) ((uint32_t)(((r) >> 15) & 0xFF))
#define R_CFA(r) ((uint64_t)(((r) >> 23) & 0xFFFFFF))
#define R_RBP(r) ((uint64_t)(((r) >> 47) & 0xFFFF)) /* saved rbp at CFA - 8*n; 0 = not saved */
static inline uint64_t mk_rule(unsigned type, uint32_t obj, uint32_t epoch, uint64_t cfa, uint64_t rbp8) {
  return R_READY | ((uint64_t)type << 1) | ((uint64_t)(obj & 0xFFF) << 3) |
         ((uint64_t)(epoch & 0xFF) << 15) | ((cfa & 0xFFFFFF) << 23) | ((rbp8 & 0xFFFF) << 47);
}

/* Real functions, filled by la_symbind64. */
enum fn_id {
  F_ASYNC_INIT, F_ASYNC_DESTROY, F_OPEN_CB_SCOPE, F_CLOSE_CB_SCOPE,
  F_CREATE_REF, F_DELETE_REF, F_REF_REF, F_REF_UNREF, F_WRAP, F_ADD_FINALIZER,
  F_CREATE_WORK, F_DELETE_WORK, F_CREATE_TSFN, F_ACQUIRE_TSFN, F_RELEASE_TSFN,
  F_ADD_ENV_HOOK, F_REMOVE_ENV_HOOK, F_ADD_ASYNC_HOOK, F_REMOVE_ASYNC_HOOK,
  F_OPEN_HSCOPE, F_CLOSE_HSCOPE, F_OPEN_ESCOPE, F_CLOSE_ESCOPE, F_COUNT
};
static void *_Atomic g_real[F_COUNT];

/* Per-thread state. The memo is private (anonymous memory); the segment is in the file. */
typedef struct {
  uint32_t cfa_off;               /* CFA = (use_bp ? rbp : rsp) + cfa_off */
  uint16_t rbp8;                  /* caller's rbp saved at CFA - 8*rbp8 (0: not saved) */
  uint8_t use_bp;
  uint8_t pad;
} mstep;
typedef struct {
  uintptr_t ra0;                  /* 0: empty */
  uint64_t key;                   /* pair | role << 8 | epoch << 32 */
  uint64_t name_hash;             /* hash of the async resource name (0: no name) */
  const uint64_t *name;           /* the interned name in the file (8-byte words, zero-padded), or NULL */
  uint32_t name_len;
  uint32_t site, slot;
  uint8_t steps;                  /* frames to unwind when re-checking the chain */
  uint8_t last;                   /* LAST_*: how the chain ended */
  uint8_t flags;                  /* SF_* of the chain */
  uint8_t check;                  /* CHECK_*: how a hit re-checks the chain */
  int32_t bp_delta;               /* CHECK_BP1: the caller's rbp minus the wrapper's CFA when memoized */
  int32_t ra1_off;                /* CHECK_SP1/BP1: where the return address above frame 0 is, from the wrapper's CFA */
  void *ctr;                      /* this thread's counter slot for the site (seg_ctr *), or NULL */
  mstep st[MAX_DEPTH];            /* per frame: how to get its CFA and the caller's rbp */
  uintptr_t pcs[MAX_DEPTH + 1];   /* return addresses; pcs[n] = the non-addon one above the chain */
} memo_t;
#define CHECK_NONE 0  /* one frame, nothing above it to compare */
#define CHECK_SP1 1   /* one step, CFA = rsp + k: compare the word at wrapper CFA + ra1_off */
#define CHECK_BP1 2   /* one step, CFA = rbp + k: same, if rbp is where it was (fixed-size frame) */
#define CHECK_WALK 3  /* re-walk with the rules (memo_walk_ok) */
#define LAST_NEXT 0   /* the frame above the chain was not addon code: compare its address */
#define LAST_ACCEPT 1 /* depth limit, unsupported rule or tail call: nothing more to compare */
#define LAST_SANITY 2 /* the last step failed the CFA sanity check (such chains are not memoized) */
#define MEMO_BITS 8
#define MEMO_CAP (1u << MEMO_BITS)

/* An async resource name as read by a wrapper: zero-padded 8-byte words, so that hashing
   and comparing work on whole words. */
typedef struct {
  uint64_t w[NAME_WORDS];
  uint32_t len;                   /* bytes, no NUL */
  uint32_t ok;                    /* 0: not read (not a string, or names off): the site has no name */
  uint64_t hash;                  /* name_hash(): memo index and key, name table; never 0 */
} aname;

typedef struct {
  int state;                      /* 0 not set up, 1 ready */
  uint32_t tid;
  seg_header *seg;                /* NULL: no segment (global path only) */
  seg_ctr *ctr;
  uint32_t *tags;                 /* plain: only this thread writes them */
  open_entry *open;
  hs_entry *hs;
  open_entry *recent;             /* SEG_RECENT entries */
  uint32_t recent_head;           /* next ring slot to write */
  memo_t *memo;
} thread_ctx;
static __thread thread_ctx t_ctx __attribute__((tls_model("initial-exec")));

/* Env-cleanup-hook closures (see w_add_env_hook). */
#define CLOSURE_CAP 4096
typedef struct {
  void (*fun)(void *);
  void *arg;
  uint32_t next_free;
  uint32_t used;
} hook_closure;
static hook_closure g_closures[CLOSURE_CAP];
static uint32_t g_closure_free_head = NO_SLOT, g_closure_next;
static atomic_flag g_closure_lock = ATOMIC_FLAG_INIT;
/* ------------------------------------------------------------------------ */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------ */
typedef uint64_t __attribute__((may_alias)) u64_alias; /* one store for several adjacent fields */

static inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33; x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

static void cpu_relax(unsigned *spins) {
  if (++*spins < 64) __builtin_ia32_pause();
  else sched_yield();
}

static void obj_lock(void) { unsigned s = 0; while (atomic_flag_test_and_set_explicit(&g_obj_lock, memory_order_acquire)) cpu_relax(&s); }
static void obj_unlock(void) { atomic_flag_clear_explicit(&g_obj_lock, memory_order_release); }

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

static void configure(void) {
  if (g_configured) return;
  const char *d = getenv("NAPI_HEAPDIFF_NATIVE_DEPTH");
  if (d && *d) { int v = atoi(d); if (v >= 1 && v <= MAX_DEPTH) g_depth = v; }
  const char *r = getenv("NAPI_HEAPDIFF_NATIVE_RELEASE_SITES");
  if (r && r[0] == '0') g_release_sites = 0;
  else if (r && strcmp(r, "all") == 0) g_release_sites = 2;
  g_relsite_mask = g_release_sites == 0 ? 0 : g_release_sites == 2 ? 0xFFFFu : RELSITE_DEFAULT;
  const char *sc = getenv("NAPI_HEAPDIFF_NATIVE_SCOPES");
  if (sc && sc[0] == '0') g_scopes = 0;
  const char *an = getenv("NAPI_HEAPDIFF_NATIVE_ASYNC_NAMES");
  if (an && an[0] == '0') g_async_names = 0;
  const char *v = getenv("NAPI_HEAPDIFF_NATIVE_VERIFY");
  if (v && v[0] == '1') g_verify = 1;
  const char *m = getenv("NAPI_HEAPDIFF_NATIVE_MATCH");
  if (m && *m) {
    static char buf[1024];
    strncpy(buf, m, sizeof buf - 1);
    char *save = NULL;
    for (char *t = strtok_r(buf, ":", &save); t && g_nmatch < 8; t = strtok_r(NULL, ":", &save))
      if (*t) g_match[g_nmatch++] = t;
  }
  g_configured = 1;
}

static int is_addon_path(const char *name) {
  if (!name || !*name) return 0;
  if (ends_with(name, ".node")) return 1;
  for (int i = 0; i < g_nmatch; i++) if (strstr(name, g_match[i])) return 1;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Objects                                                                   */
/* ------------------------------------------------------------------------ */
/* Parses the program headers of a mapped object. */
static void parse_phdrs(obj_t *o, const uint8_t *ehdr_addr, uintptr_t base, uint8_t *bid, uint8_t *bid_len) {
  const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)ehdr_addr;
  *bid_len = 0;
  if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) return;
  const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(ehdr_addr + eh->e_phoff);
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type == PT_LOAD) {
      uintptr_t a = base + ph[i].p_vaddr, b = a + ph[i].p_memsz;
      if (a < lo) lo = a;
      if (b > hi) hi = b;
    } else if (ph[i].p_type == PT_GNU_EH_FRAME) {
      o->eh_hdr = (const uint8_t *)(base + ph[i].p_vaddr);
    } else if (ph[i].p_type == PT_GNU_RELRO) {
      o->relro_lo = base + ph[i].p_vaddr;
      o->relro_hi = o->relro_lo + ph[i].p_memsz;
    } else if (ph[i].p_type == PT_NOTE && *bid_len == 0) {
      const uint8_t *p = (const uint8_t *)(base + ph[i].p_vaddr), *end = p + ph[i].p_memsz;
      while (p + sizeof(ElfW(Nhdr)) <= end) {
        const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
        const uint8_t *name = p + sizeof *n;
        const uint8_t *desc = name + ((n->n_namesz + 3) & ~3u);
        if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 && n->n_descsz <= 23) {
          memcpy(bid, desc, n->n_descsz);
          *bid_len = (uint8_t)n->n_descsz;
          break;
        }
        p = desc + ((n->n_descsz + 3) & ~3u);
      }
    }
  }
  if (hi > lo) { o->lo = lo; o->hi = hi; }
}

/* Copies object idx into the file (string table + entry). Called with the object lock held
   (or during single-threaded init). */
static void publish_object(uint32_t idx, const char *path, const uint8_t *bid, uint8_t bid_len) {
  if (!g_hdr || idx >= g_hdr->obj_cap) return;
  obj_entry *fe = &g_fobjs[idx];
  if (atomic_load_explicit(&fe->state, memory_order_acquire) == 2) return;
  obj_t *o = &g_objs[idx];
  size_t len = strlen(path);
  uint32_t off = atomic_fetch_add(&g_hdr->str_used, (uint32_t)len + 1);
  if (off + len + 1 <= g_hdr->str_cap) {
    memcpy(g_strs + off, path, len + 1);
    fe->path_off = off;
    fe->path_len = (uint32_t)len;
  } else {
    fe->path_off = 0; fe->path_len = 0;
  }
  fe->flags = o->flags | (atomic_load(&o->closed) ? OF_CLOSED : 0);
  fe->base = o->base; fe->lo = o->lo; fe->hi = o->hi;
  fe->build_id_len = bid_len;
  memcpy(fe->build_id, bid, bid_len);
  fe->eh_frame_hdr = o->eh_hdr ? (uint64_t)((uintptr_t)o->eh_hdr - o->base) : 0;
  atomic_store_explicit(&fe->state, 2, memory_order_release);
  uint32_t used = atomic_load(&g_hdr->obj_used);
  while (used < idx + 1 && !atomic_compare_exchange_weak(&g_hdr->obj_used, &used, idx + 1)) {}
}

/* Private copies of object paths/build-ids, so objects registered before the file exists
   can be published later. */
static char g_obj_paths[OBJ_CAP][256];
static uint8_t g_obj_bid[OBJ_CAP][24];

static uint32_t add_object(uintptr_t map, const char *path, const uint8_t *ehdr, uintptr_t base, uint32_t flags) {
  uint32_t n = atomic_load_explicit(&g_nobjs, memory_order_acquire);
  if (n >= OBJ_CAP) return NO_OBJ;
  obj_t *o = &g_objs[n];
  memset(o, 0, sizeof *o);
  o->base = base;
  o->flags = flags;
  o->map = map;
  o->file_idx = n;
  uint8_t bl = 0;
  parse_phdrs(o, ehdr, base, g_obj_bid[n] + 1, &bl);
  g_obj_bid[n][0] = bl;
  strncpy(g_obj_paths[n], path ? path : "", sizeof g_obj_paths[n] - 1);
  atomic_store_explicit(&g_nobjs, n + 1, memory_order_release);
  if (g_hdr) publish_object(n, g_obj_paths[n], g_obj_bid[n] + 1, bl);
  return n;
}

/* Object containing pc among the known live objects, or NO_OBJ. */
static uint32_t find_object(uintptr_t pc) {
  uint32_t n = atomic_load_explicit(&g_nobjs, memory_order_acquire);
  for (uint32_t i = 0; i < n; i++) {
    obj_t *o = &g_objs[i];
    if (pc >= o->lo && pc < o->hi && !atomic_load_explicit(&o->closed, memory_order_relaxed)) return i;
  }
  return NO_OBJ;
}

/* Registers the (non-addon) object containing pc, found through dladdr1. Slow path. */
static uint32_t register_object_at(uintptr_t pc) {
  Dl_info info;
  struct link_map *lm = NULL;
  memset(&info, 0, sizeof info);
  if (!dladdr1((void *)pc, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm || !info.dli_fbase) return NO_OBJ;
  obj_lock();
  uint32_t idx = find_object(pc);
  if (idx == NO_OBJ) {
    char exe[256];
    const char *path = lm->l_name;
    uint32_t flags = 0;
    if (!path || !*path) {
      ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
      exe[k > 0 ? k : 0] = 0;
      path = exe;
      flags |= OF_MAIN;
    }
    if (is_addon_path(path)) flags |= OF_ADDON;
    idx = add_object((uintptr_t)lm, path, (const uint8_t *)info.dli_fbase, lm->l_addr, flags);
    if (idx != NO_OBJ && !(pc >= g_objs[idx].lo && pc < g_objs[idx].hi)) {
      /* phdrs not readable: cover at least this page so we do not loop */
      g_objs[idx].lo = pc & ~(uintptr_t)4095;
      g_objs[idx].hi = g_objs[idx].lo + 4096;
    }
  }
  obj_unlock();
  return idx;
}

/* ------------------------------------------------------------------------ */
/* DWARF CFI (x86-64): the CFA rule at one return address                    */
/* ------------------------------------------------------------------------ */
#define DW_EH_PE_omit 0xff
#define DW_EH_PE_absptr 0x00
#define DW_EH_PE_uleb128 0x01
#define DW_EH_PE_udata2 0x02
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_udata8 0x04
#define DW_EH_PE_sleb128 0x09
#define DW_EH_PE_sdata2 0x0a
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_sdata8 0x0c
#define DW_EH_PE_pcrel 0x10
#define DW_EH_PE_datarel 0x30
#define DW_EH_PE_indirect 0x80

static uint64_t rd_uleb(const uint8_t **pp, const uint8_t *end) {
  uint64_t r = 0; unsigned shift = 0; const uint8_t *p = *pp;
  while (p < end) { uint8_t b = *p++; if (shift < 64) r |= (uint64_t)(b & 0x7f) << shift; shift += 7; if (!(b & 0x80)) break; }
  *pp = p; return r;
}
static int64_t rd_sleb(const uint8_t **pp, const uint8_t *end) {
  int64_t r = 0; unsigned shift = 0; uint8_t b = 0; const uint8_t *p = *pp;
  while (p < end) { b = *p++; if (shift < 64) r |= (int64_t)(b & 0x7f) << shift; shift += 7; if (!(b & 0x80)) break; }
  if (shift < 64 && (b & 0x40)) r |= -((int64_t)1 << shift);
  *pp = p; return r;
}
static int rd_enc(uint8_t enc, const uint8_t **pp, const uint8_t *end, uintptr_t datarel, uint64_t *out) {
  const uint8_t *p = *pp;
  uintptr_t start = (uintptr_t)p;
  uint64_t v;
  if (enc == DW_EH_PE_omit) return -1;
  switch (enc & 0x0f) {
    case DW_EH_PE_absptr: case DW_EH_PE_udata8: case DW_EH_PE_sdata8:
      if (p + 8 > end) { return -1; }
      memcpy(&v, p, 8); p += 8; break;
    case DW_EH_PE_udata4: { uint32_t x; if (p + 4 > end) return -1; memcpy(&x, p, 4); v = x; p += 4; break; }
    case DW_EH_PE_sdata4: { int32_t x; if (p + 4 > end) return -1; memcpy(&x, p, 4); v = (uint64_t)(int64_t)x; p += 4; break; }
    case DW_EH_PE_udata2: { uint16_t x; if (p + 2 > end) return -1; memcpy(&x, p, 2); v = x; p += 2; break; }
    case DW_EH_PE_sdata2: { int16_t x; if (p + 2 > end) return -1; memcpy(&x, p, 2); v = (uint64_t)(int64_t)x; p += 2; break; }
    case DW_EH_PE_uleb128: v = rd_uleb(&p, end); break;
    case DW_EH_PE_sleb128: v = (uint64_t)rd_sleb(&p, end); break;
    default: return -1;
  }
  switch (enc & 0x70) {
    case 0: break;
    case DW_EH_PE_pcrel: v += start; break;
    case DW_EH_PE_datarel: v += datarel; break;
    default: return -1; /* textrel/funcrel/aligned: not produced for x86-64 .eh_frame */
  }
  if (enc & DW_EH_PE_indirect) { uint64_t x; memcpy(&x, (const void *)(uintptr_t)v, 8); v = x; }
  *pp = p; *out = v; return 0;
}

/* Finds the FDE covering pc through .eh_frame_hdr's binary-search table. */
static const uint8_t *find_fde(const uint8_t *hdr, uintptr_t pc) {
  if (!hdr || hdr[0] != 1) return NULL;
  const uint8_t *p = hdr + 4, *end = hdr + (1u << 30);
  uint64_t eh_frame, count;
  if (rd_enc(hdr[1], &p, end, (uintptr_t)hdr, &eh_frame) < 0) return NULL;
  if (rd_enc(hdr[2], &p, end, (uintptr_t)hdr, &count) < 0) return NULL;
  if (hdr[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4) || count == 0) return NULL;
  const int32_t *tab = (const int32_t *)p;
  size_t lo = 0, hi = (size_t)count;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if ((uintptr_t)hdr + (intptr_t)tab[2 * mid] <= pc) lo = mid; else hi = mid;
  }
  if ((uintptr_t)hdr + (intptr_t)tab[2 * lo] > pc) return NULL;
  return hdr + (intptr_t)tab[2 * lo + 1];
}

typedef struct {
  int cfa_reg; int64_t cfa_off; int cfa_expr;
  int rbp_how; int64_t rbp_off;   /* 0 same/undefined, 1 offset(n), 2 other */
  int ra_how; int64_t ra_off;
} cfi_row;

/* Runs CFI instructions [p, end) while loc <= target. Returns 0 ok, -1 unsupported. */
static int run_cfi(const uint8_t *p, const uint8_t *end, uint64_t caf, int64_t daf,
                   uintptr_t *loc, uintptr_t target, cfi_row *row, const cfi_row *init, uint8_t fde_enc) {
  cfi_row stack[8];
  int sp = 0;
  while (p < end) {
    uint8_t op = *p++;
    uint8_t hi2 = op & 0xc0, low = op & 0x3f;
    uint64_t reg, delta;
    int64_t off;
    if (hi2 == 0x40) { delta = low * caf; if (*loc + delta > target) return 0; *loc += delta; continue; }
    if (hi2 == 0x80) { reg = low; off = (int64_t)rd_uleb(&p, end) * daf; goto set_offset; }
    if (hi2 == 0xc0) { reg = low; goto restore; }
    switch (op) {
      case 0x00: break; /* nop */
      case 0x01: { uint64_t a; if (rd_enc(fde_enc, &p, end, 0, &a) < 0) return -1; if (a > target) return 0; *loc = a; break; }
      case 0x02: delta = (uint64_t)*p++ * caf; if (*loc + delta > target) return 0; *loc += delta; break;
      case 0x03: { uint16_t x; memcpy(&x, p, 2); p += 2; delta = x * caf; if (*loc + delta > target) return 0; *loc += delta; break; }
      case 0x04: { uint32_t x; memcpy(&x, p, 4); p += 4; delta = x * caf; if (*loc + delta > target) return 0; *loc += delta; break; }
      case 0x05: reg = rd_uleb(&p, end); off = (int64_t)rd_uleb(&p, end) * daf; goto set_offset;
      case 0x06: reg = rd_uleb(&p, end); goto restore;
      case 0x07: case 0x08: /* undefined, same_value */
        reg = rd_uleb(&p, end);
        if (reg == 6) row->rbp_how = 0;
        if (reg == 16) row->ra_how = 2;
        break;
      case 0x09: reg = rd_uleb(&p, end); (void)rd_uleb(&p, end); /* register */
        if (reg == 6) row->rbp_how = 2;
        if (reg == 16) row->ra_how = 2;
        break;
      case 0x0a: if (sp >= 8) return -1; stack[sp++] = *row; break;
      case 0x0b: if (sp <= 0) return -1; { cfi_row r = stack[--sp]; row->cfa_reg = r.cfa_reg; row->cfa_off = r.cfa_off; row->cfa_expr = r.cfa_expr;
                   row->rbp_how = r.rbp_how; row->rbp_off = r.rbp_off; row->ra_how = r.ra_how; row->ra_off = r.ra_off; } break;
      case 0x0c: row->cfa_reg = (int)rd_uleb(&p, end); row->cfa_off = (int64_t)rd_uleb(&p, end); row->cfa_expr = 0; break;
      case 0x0d: row->cfa_reg = (int)rd_uleb(&p, end); row->cfa_expr = 0; break;
      case 0x0e: row->cfa_off = (int64_t)rd_uleb(&p, end); break;
      case 0x0f: { uint64_t n = rd_uleb(&p, end); p += n; row->cfa_expr = 1; break; }
      case 0x10: { reg = rd_uleb(&p, end); uint64_t n = rd_uleb(&p, end); p += n;
                   if (reg == 6) row->rbp_how = 2;
                   if (reg == 16) row->ra_how = 2;
                   break; }
      case 0x11: reg = rd_uleb(&p, end); off = rd_sleb(&p, end) * daf; goto set_offset;
      case 0x12: row->cfa_reg = (int)rd_uleb(&p, end); row->cfa_off = rd_sleb(&p, end) * daf; row->cfa_expr = 0; break;
      case 0x13: row->cfa_off = rd_sleb(&p, end) * daf; break;
      case 0x14: reg = rd_uleb(&p, end); (void)rd_uleb(&p, end); goto set_other;
      case 0x15: reg = rd_uleb(&p, end); (void)rd_sleb(&p, end); goto set_other;
      case 0x16: { reg = rd_uleb(&p, end); uint64_t n = rd_uleb(&p, end); p += n; goto set_other; }
      case 0x2e: (void)rd_uleb(&p, end); break; /* GNU_args_size */
      case 0x2f: reg = rd_uleb(&p, end); off = -(int64_t)rd_uleb(&p, end); goto set_offset;
      default: return -1;
    }
    continue;
  set_offset:
    if (reg == 6) { row->rbp_how = 1; row->rbp_off = off; }
    if (reg == 16) { row->ra_how = 1; row->ra_off = off; }
    continue;
  set_other:
    if (reg == 6) row->rbp_how = 2;
    if (reg == 16) row->ra_how = 2;
    continue;
  restore:
    if (reg == 6) { row->rbp_how = init ? init->rbp_how : 0; row->rbp_off = init ? init->rbp_off : 0; }
    if (reg == 16) { row->ra_how = init ? init->ra_how : 1; row->ra_off = init ? init->ra_off : -8; }
    continue;
  }
  return 0;
}

/* Computes the rule word for return address pc inside addon object idx. */
static uint64_t compute_rule(uint32_t idx, uintptr_t pc, uint32_t epoch) {
  obj_t *o = &g_objs[idx];
  uintptr_t target = pc - 1; /* inside the call instruction */
  const uint8_t *fde = find_fde(o->eh_hdr, target);
  if (!fde) return mk_rule(T_UNS, idx, epoch, 0, 0);
  uint32_t len32; memcpy(&len32, fde, 4);
  if (len32 == 0 || len32 == 0xffffffffu) return mk_rule(T_UNS, idx, epoch, 0, 0);
  const uint8_t *fde_end = fde + 4 + len32;
  int32_t cie_ptr; memcpy(&cie_ptr, fde + 4, 4);
  const uint8_t *cie = fde + 4 - cie_ptr;
  uint32_t cie_len; memcpy(&cie_len, cie, 4);
  if (cie_len == 0 || cie_len == 0xffffffffu) return mk_rule(T_UNS, idx, epoch, 0, 0);
  const uint8_t *cie_end = cie + 4 + cie_len, *p = cie + 8;
  uint8_t version = *p++;
  const char *aug = (const char *)p;
  p += strlen(aug) + 1;
  if (aug[0] == 'e' && aug[1] == 'h') p += 8;
  uint64_t caf = rd_uleb(&p, cie_end);
  int64_t daf = rd_sleb(&p, cie_end);
  uint64_t ra_reg = version == 1 ? *p++ : rd_uleb(&p, cie_end);
  uint8_t fde_enc = DW_EH_PE_absptr;
  int has_z = 0;
  if (aug[0] == 'z') {
    has_z = 1;
    uint64_t alen = rd_uleb(&p, cie_end);
    const uint8_t *aend = p + alen;
    for (const char *a = aug + 1; *a && p < aend; a++) {
      if (*a == 'R') fde_enc = *p++;
      else if (*a == 'L') p++;
      else if (*a == 'P') { uint8_t penc = *p++; uint64_t tmp; if (rd_enc(penc & 0x7f, &p, aend, 0, &tmp) < 0) break; }
      else if (*a == 'S' || *a == 'B') {}
      else break;
    }
    p = aend;
  }
  if (ra_reg != 16) return mk_rule(T_UNS, idx, epoch, 0, 0);
  cfi_row row = {.cfa_reg = 7, .cfa_off = 8, .cfa_expr = 0, .rbp_how = 0, .rbp_off = 0, .ra_how = 1, .ra_off = -8};
  uintptr_t loc = 0;
  /* CIE initial instructions: location is irrelevant there */
  if (run_cfi(p, cie_end, caf, daf, &loc, UINTPTR_MAX, &row, NULL, fde_enc) < 0) return mk_rule(T_UNS, idx, epoch, 0, 0);
  cfi_row init = row;
  const uint8_t *q = fde + 8;
  uint64_t pc_begin, pc_range;
  if (rd_enc(fde_enc, &q, fde_end, 0, &pc_begin) < 0) return mk_rule(T_UNS, idx, epoch, 0, 0);
  if (rd_enc(fde_enc & 0x0f, &q, fde_end, 0, &pc_range) < 0) return mk_rule(T_UNS, idx, epoch, 0, 0);
  if (target < pc_begin || target >= pc_begin + pc_range) return mk_rule(T_UNS, idx, epoch, 0, 0);
  if (has_z) { uint64_t alen = rd_uleb(&q, fde_end); q += alen; }
  loc = pc_begin;
  if (run_cfi(q, fde_end, caf, daf, &loc, target, &row, &init, fde_enc) < 0) return mk_rule(T_UNS, idx, epoch, 0, 0);
  if (row.cfa_expr || (row.cfa_reg != 7 && row.cfa_reg != 6)) return mk_rule(T_UNS, idx, epoch, 0, 0);
  if (row.ra_how != 1 || row.ra_off != -8) return mk_rule(T_UNS, idx, epoch, 0, 0);
  if (row.cfa_off < 8 || row.cfa_off >= (1 << 24)) return mk_rule(T_UNS, idx, epoch, 0, 0);
  uint64_t rbp8 = 0;
  if (row.rbp_how == 2) return mk_rule(T_UNS, idx, epoch, 0, 0);
  if (row.rbp_how == 1) {
    if (row.rbp_off >= 0 || (row.rbp_off & 7) || -row.rbp_off / 8 > 0xFFFF) return mk_rule(T_UNS, idx, epoch, 0, 0);
    rbp8 = (uint64_t)(-row.rbp_off / 8);
  }
  return mk_rule(row.cfa_reg == 7 ? T_SP : T_BP, idx, epoch, (uint64_t)row.cfa_off, rbp8);
}

/* The rule for a return address, from the cache or computed (and cached). */
static uint64_t pc_rule_slow(uintptr_t pc, uint32_t epoch, pc_slot *slot_hint) {
  uint32_t idx = find_object(pc);
  if (idx == NO_OBJ) idx = register_object_at(pc);
  uint64_t rule;
  if (idx == NO_OBJ) rule = mk_rule(T_OUT, NO_OBJ, epoch, 0, 0);
  else if (!(g_objs[idx].flags & OF_ADDON)) rule = mk_rule(T_OUT, idx, epoch, 0, 0);
  else rule = compute_rule(idx, pc, epoch);
  if (g_hdr) atomic_fetch_add_explicit(&g_hdr->frames_computed, 1, memory_order_relaxed);
  if (slot_hint) { atomic_store_explicit(&slot_hint->rule, rule, memory_order_release); return rule; }
  uint32_t h = (uint32_t)(mix64(pc) >> (64 - PC_CACHE_BITS));
  for (int i = 0; i < PC_PROBES; i++) {
    pc_slot *s = &g_pc_cache[(h + i) & (PC_CACHE_CAP - 1)];
    uintptr_t cur = atomic_load_explicit(&s->pc, memory_order_acquire);
    if (cur == 0) {
      uintptr_t expect = 0;
      if (atomic_compare_exchange_strong(&s->pc, &expect, pc)) { atomic_store_explicit(&s->rule, rule, memory_order_release); return rule; }
      cur = expect;
    }
    if (cur == pc) { atomic_store_explicit(&s->rule, rule, memory_order_release); return rule; }
  }
  if (g_hdr) atomic_fetch_add_explicit(&g_hdr->pc_cache_full, 1, memory_order_relaxed);
  return rule;
}

static inline uint64_t pc_rule(uintptr_t pc) {
  uint32_t epoch = atomic_load_explicit(&g_epoch, memory_order_relaxed) & 0xFF;
  uint32_t h = (uint32_t)(mix64(pc) >> (64 - PC_CACHE_BITS));
  for (int i = 0; i < PC_PROBES; i++) {
    pc_slot *s = &g_pc_cache[(h + i) & (PC_CACHE_CAP - 1)];
    uintptr_t cur = atomic_load_explicit(&s->pc, memory_order_acquire);
    if (cur == pc) {
      uint64_t r = atomic_load_explicit(&s->rule, memory_order_acquire);
      if ((r & R_READY) && R_EPOCH(r) == epoch) return r;
      return pc_rule_slow(pc, epoch, (r & R_READY) ? s : NULL);
    }
    if (cur == 0) break;
  }
  return pc_rule_slow(pc, epoch, NULL);
}


/* ------------------------------------------------------------------------ */
/* Call-site chains                                                          */
/* ------------------------------------------------------------------------ */
typedef struct {
  int n;
  uint8_t flags;
  uint32_t obj[MAX_DEPTH];
  uint64_t off[MAX_DEPTH];
  uintptr_t pc[MAX_DEPTH];
  uint64_t rule[MAX_DEPTH];
  uintptr_t next_pc;
  uint8_t last;                   /* LAST_* */
} chain_t;

#define MAX_FRAME_BYTES (1u << 20)

/* fp: the wrapper's frame pointer: fp[0] = caller's rbp, fp[1] = return address,
   fp + 2 = the caller's rsp once the call returns (the wrapper's CFA). */
static void collect(void **fp, chain_t *c) {
  uintptr_t ra = (uintptr_t)fp[1];
  uintptr_t sp = (uintptr_t)(fp + 2);
  uintptr_t bp = (uintptr_t)fp[0];
  int n = 0;
  c->flags = 0;
  c->next_pc = 0;
  c->last = LAST_ACCEPT;
  for (;;) {
    uint64_t r = pc_rule(ra);
    unsigned t = R_TYPE(r);
    uint32_t obj = R_OBJ(r);
    if (t == T_OUT) {
      if (n == 0) {
        c->pc[0] = ra; c->rule[0] = r; c->obj[0] = obj;
        c->off[0] = obj == NO_OBJ ? ra : ra - g_objs[obj].base;
        n = 1;
        c->flags |= SF_TAIL;
      } else {
        c->next_pc = ra;
        c->last = LAST_NEXT;
      }
      break;
    }
    c->pc[n] = ra; c->rule[n] = r; c->obj[n] = obj; c->off[n] = ra - g_objs[obj].base;
    n++;
    if (t == T_UNS) { c->flags |= SF_TRUNCATED; break; }
    if (n >= g_depth) { c->flags |= SF_DEPTH_LIMIT; break; }
    uintptr_t cfa = (t == T_SP ? sp : bp) + R_CFA(r);
    if (cfa - sp - 1 >= MAX_FRAME_BYTES || (cfa & 7)) { c->flags |= SF_TRUNCATED; c->last = LAST_SANITY; break; }
    uintptr_t nra = *(uintptr_t *)(cfa - 8);
    uint64_t rb = R_RBP(r);
    if (rb) bp = *(uintptr_t *)(cfa - 8 * rb);
    sp = cfa;
    ra = nra;
  }
  c->n = n;
}

/* Re-walks the stack with the rules cached in a memo entry: 1 if this call's chain is the
   memo's chain (same return addresses, same end), 0 if not (then the slow path decides).
   Frame 0 is already known to match (the memo key holds its return address), so its rule
   is the right one for this stack; so is each next one once its return address matched.
   (Chains that ended at a failed CFA sanity check are not memoized: always the slow path.) */
static inline __attribute__((always_inline)) int memo_walk_ok(const memo_t *m, void **fp) {
  unsigned steps = m->steps;
  if (steps == 0) return 1; /* one frame and nothing to compare above it */
  uintptr_t sp = (uintptr_t)(fp + 2);
  uintptr_t bp = (uintptr_t)fp[0];
  const mstep *st = m->st;
  const uintptr_t *pcs = m->pcs + 1;
  for (;;) {
    uintptr_t cfa = (st->use_bp ? bp : sp) + st->cfa_off;
    if (__builtin_expect(cfa - sp - 1 >= MAX_FRAME_BYTES || (cfa & 7), 0)) return 0;
    if (*(uintptr_t *)(cfa - 8) != *pcs) return 0;
    if (--steps == 0) return 1;
    if (st->rbp8) bp = *(uintptr_t *)(cfa - 8 * (uintptr_t)st->rbp8);
    sp = cfa;
    st++; pcs++;
  }
}

/* The cheap memo hit (the usual chain: napi called straight from the addon function Node
   called). With one step to check, the CFA of frame 0 is the wrapper's CFA plus a constant
   (rsp-based rule), or the caller's rbp plus a constant (rbp-based rule); if rbp sits where
   it sat when the entry was made (always, for a frame of fixed size), that is the same
   constant as then: the return address above frame 0 is read at a remembered offset,
   without evaluating the rule. Same answer as memo_walk_ok, fewer instructions. */
static inline __attribute__((always_inline)) int memo_check(const memo_t *m, void **fp) {
  unsigned check = m->check;
  if (check == CHECK_NONE) return 1;
  uintptr_t sp = (uintptr_t)(fp + 2);
  if (__builtin_expect(check == CHECK_WALK, 0) || (check == CHECK_BP1 && (intptr_t)((uintptr_t)fp[0] - sp) != m->bp_delta))
    return memo_walk_ok(m, fp);
  return *(uintptr_t *)(sp + m->ra1_off) == m->pcs[1];
}

/* --- verify mode: compare every chain with libgcc's unwinder --------------- */
struct _Unwind_Context;
typedef int (*unwind_trace_fn)(struct _Unwind_Context *, void *);
typedef int (*unwind_backtrace_t)(unwind_trace_fn, void *);
typedef uintptr_t (*unwind_getip_t)(struct _Unwind_Context *);
static unwind_backtrace_t p_backtrace;
static unwind_getip_t p_getip;
static _Atomic int g_verify_init;
struct vbt { int n; uintptr_t ip[32]; };
static int vbt_cb(struct _Unwind_Context *ctx, void *arg) {
  struct vbt *b = arg;
  if (b->n >= 32) return 5; /* _URC_END_OF_STACK */
  b->ip[b->n++] = p_getip(ctx);
  return 0;
}
static __attribute__((noinline)) void verify_chain(const uintptr_t *pcs, int n, uint8_t flags) {
  if (atomic_load(&g_verify_init) == 0) {
    int expect = 0;
    if (atomic_compare_exchange_strong(&g_verify_init, &expect, 1)) {
      void *h = dlopen("libgcc_s.so.1", RTLD_NOW);
      if (h) { p_backtrace = (unwind_backtrace_t)dlsym(h, "_Unwind_Backtrace"); p_getip = (unwind_getip_t)dlsym(h, "_Unwind_GetIP"); }
      atomic_store(&g_verify_init, 2);
    }
  }
  while (atomic_load(&g_verify_init) == 1) sched_yield();
  if (!p_backtrace || !p_getip) return;
  struct vbt b = {0};
  p_backtrace(vbt_cb, &b);
  int start = -1;
  for (int i = 0; i < b.n; i++) if (b.ip[i] == pcs[0]) { start = i; break; }
  int ok = start >= 0;
  if (ok && !(flags & SF_TAIL)) {
    for (int k = 0; k < n; k++)
      if (start + k >= b.n || b.ip[start + k] != pcs[k]) { ok = 0; break; }
    /* the frame above the chain must not be addon code unless we stopped on purpose */
    if (ok && !(flags & (SF_DEPTH_LIMIT | SF_TRUNCATED)) && start + n < b.n) {
      uint32_t o = find_object(b.ip[start + n]);
      if (o != NO_OBJ && (g_objs[o].flags & OF_ADDON)) ok = 0;
    }
  }
  atomic_fetch_add(&g_hdr->verify_checked, 1);
  if (!ok) atomic_fetch_add(&g_hdr->verify_mismatch, 1);
}

/* ------------------------------------------------------------------------ */
/* Site table (global, insert-only, linear probing)                          */
/* ------------------------------------------------------------------------ */
/* name_off: string-table offset of the interned async resource name, or NAME_NONE. Names are
   interned, so equal offsets mean equal names. */
static uint32_t site_lookup(unsigned pair, unsigned role, const chain_t *c, uint32_t name_off, uint32_t name_len, uint8_t name_flags) {
  uint8_t flags = (uint8_t)(c->flags | (role ? SF_RELEASE : 0) | (name_off != NAME_NONE ? SF_NAMED | name_flags : 0));
  uint64_t h = mix64(pair | ((uint64_t)c->n << 16) | ((uint64_t)flags << 24) | ((uint64_t)(name_off != NAME_NONE ? name_off : 0) << 32));
  for (int i = 0; i < c->n; i++) h = mix64(h ^ (c->off[i] + ((uint64_t)c->obj[i] << 48)));
  uint32_t tag = (uint32_t)(h >> 34) << 2; /* 30-bit hash in the high bits */
  uint32_t cap = g_hdr->site_cap;
  for (uint32_t i = 0; i < cap; i++) {
    uint32_t idx = (uint32_t)((h + i) & g_site_mask);
    site_entry *s = &g_sites[idx];
    uint32_t st = atomic_load_explicit(&s->state_hash, memory_order_acquire);
    if (st == 0) {
      uint32_t expect = 0;
      if (atomic_compare_exchange_strong(&s->state_hash, &expect, tag | 1)) {
        s->pair = (uint16_t)pair; s->depth = (uint8_t)c->n; s->flags = flags;
        for (int k = 0; k < MAX_DEPTH; k++) { s->obj[k] = k < c->n ? c->obj[k] : 0; s->off[k] = k < c->n ? c->off[k] : 0; }
        s->name_off = name_off != NAME_NONE ? name_off : 0;
        s->name_len = name_off != NAME_NONE ? name_len : 0;
        atomic_fetch_add_explicit(&g_hdr->site_used, 1, memory_order_relaxed);
        atomic_store_explicit(&s->state_hash, tag | 2, memory_order_release);
        return idx;
      }
      st = expect;
    }
    if ((st & ~3u) != tag) continue;
    unsigned spins = 0;
    while ((st & 3) == 1) { cpu_relax(&spins); st = atomic_load_explicit(&s->state_hash, memory_order_acquire); }
    if (s->pair != pair || s->depth != c->n || s->flags != flags) continue;
    if ((flags & SF_NAMED) && s->name_off != name_off) continue;
    int same = 1;
    for (int k = 0; k < c->n; k++) if (s->obj[k] != c->obj[k] || s->off[k] != c->off[k]) { same = 0; break; }
    if (same) return idx;
  }
  return NO_SITE;
}

/* ------------------------------------------------------------------------ */
/* Async resource names                                                      */
/* ------------------------------------------------------------------------ */
static inline uint64_t name_hash(const uint64_t *w, uint32_t len) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ len;
  for (uint32_t i = 0, n = (len >> 3) + 1; i < n; i++) h = (h ^ w[i]) * 0xff51afd7ed558ccdull;
  return (h ^ (h >> 29)) | 1; /* never 0 (0 = no name) */
}
static inline int name_equal(const uint64_t *a, const uint64_t *b, uint32_t len) {
  for (uint32_t i = 0, n = (len >> 3) + 1; i < n; i++) if (a[i] != b[i]) return 0;
  return 1;
}

/* Space in the string table for n bytes at an 8-byte boundary (the table is zero-filled,
   so the padding is zeros). NAME_NONE if full. */
static uint32_t str_alloc_aligned(uint32_t n) {
  uint32_t cur = atomic_load_explicit(&g_hdr->str_used, memory_order_relaxed);
  for (;;) {
    uint64_t start = ((uint64_t)cur + 7) & ~7ull;
    if (start + n > g_hdr->str_cap) return NAME_NONE;
    if (atomic_compare_exchange_weak(&g_hdr->str_used, &cur, (uint32_t)(start + n))) return (uint32_t)start;
  }
}

/* The string-table offset of a name (inserted on first sight; lock-free, deduplicated:
   equal names get the same offset), or NAME_NONE when there is no room left. */
static uint32_t intern_name(const aname *nm) {
  uint64_t h = nm->hash;
  uint32_t tag = (uint32_t)(h >> 34) << 2;
  uint32_t mask = g_hdr->name_cap - 1;
  for (uint32_t i = 0; i <= mask; i++) {
    name_entry *e = &g_names[(h + i) & mask];
    uint32_t st = atomic_load_explicit(&e->state_hash, memory_order_acquire);
    if (st == 0) {
      uint32_t expect = 0;
      if (atomic_compare_exchange_strong(&e->state_hash, &expect, tag | 1)) {
        uint32_t words = (nm->len >> 3) + 1;
        uint32_t off = str_alloc_aligned(words * 8);
        if (off != NAME_NONE) memcpy(g_strs + off, nm->w, words * 8);
        e->str_off = off != NAME_NONE ? off : 0;
        e->len = off != NAME_NONE ? nm->len : NAME_NONE;
        atomic_fetch_add_explicit(&g_hdr->name_used, 1, memory_order_relaxed);
        atomic_store_explicit(&e->state_hash, tag | 2, memory_order_release);
        return off;
      }
      st = expect;
    }
    if ((st & ~3u) != tag) continue;
    unsigned spins = 0;
    while ((st & 3) == 1) { cpu_relax(&spins); st = atomic_load_explicit(&e->state_hash, memory_order_acquire); }
    if (e->len == NAME_NONE) continue; /* inserted when the string table was full: unusable */
    if (e->len == nm->len && name_equal((const uint64_t *)(g_strs + e->str_off), nm->w, nm->len)) return e->str_off;
  }
  return NAME_NONE;
}

/* ------------------------------------------------------------------------ */
/* Per-thread context and segments                                           */
/* ------------------------------------------------------------------------ */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
/* Fault in a thread's segment (and memo) writable at once, when the thread first books:
   otherwise their pages are faulted one by one at the thread's first acquisitions at each
   hashed position, inside the program's loops (about 20 us a page on the VM measured:
   README "Overhead"). Linux >= 5.14; elsewhere madvise fails and nothing changes. */
static void prefault(void *p, size_t size) {
  int saved_errno = errno;
  madvise(p, size, MADV_POPULATE_WRITE);
  errno = saved_errno;
}

static seg_header *alloc_segment(uint32_t tid) {
  unsigned spins = 0;
  while (atomic_flag_test_and_set_explicit(&g_grow_lock, memory_order_acquire)) cpu_relax(&spins);
  seg_header *seg = NULL;
  uint32_t idx = atomic_load(&g_hdr->seg_used);
  if (idx < g_hdr->seg_cap && g_fd >= 0) {
    uint64_t off = atomic_load(&g_hdr->file_size);
    uint64_t size = g_hdr->seg_size;
    if (off + size <= UINT32_MAX && ftruncate(g_fd, (off_t)(off + size)) == 0) {
      void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, g_fd, (off_t)off);
      if (p != MAP_FAILED) {
        prefault(p, size);
        seg = (seg_header *)p;
        seg->tid = tid;
        seg->ctr_cap = SEG_CTR_CAP;
        seg->open_cap = SEG_OPEN_CAP;
        seg->ctr_off = sizeof(seg_header);
        seg->tags_off = seg->ctr_off + SEG_CTR_CAP * sizeof(seg_ctr);
        seg->open_off = seg->tags_off + SEG_OPEN_CAP * 4;
        seg->hs_off = seg->open_off + SEG_OPEN_CAP * sizeof(open_entry);
        seg->hs_cap = SEG_HS_CAP;
        seg->recent_off = seg->hs_off + SEG_HS_CAP * sizeof(hs_entry);
        seg->recent_cap = SEG_RECENT;
        seg->index = idx;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seg->created_unix_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        atomic_store_explicit((_Atomic uint32_t *)&seg->magic, SEG_MAGIC, memory_order_release);
        g_seg_dir[idx] = off;
        atomic_store(&g_hdr->file_size, off + size);
        atomic_store(&g_hdr->seg_used, idx + 1);
      }
    }
  }
  if (!seg) atomic_fetch_add(&g_hdr->no_segment, 1);
  atomic_flag_clear_explicit(&g_grow_lock, memory_order_release);
  return seg;
}

/* Memo of threads whose own memo could not be allocated: never hits (ra0 is 0 everywhere)
   and is never written (resolve_slow checks), so the hot path needs no NULL test. */
static memo_t g_no_memo[MEMO_CAP];

static __attribute__((noinline)) void thread_setup(thread_ctx *t) {
  int saved_errno = errno;
  t->tid = (uint32_t)syscall(SYS_gettid);
  void *m = mmap(NULL, MEMO_CAP * sizeof(memo_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  t->memo = m == MAP_FAILED ? g_no_memo : (memo_t *)m;
  if (m != MAP_FAILED) prefault(m, MEMO_CAP * sizeof(memo_t));
  t->seg = alloc_segment(t->tid);
  if (t->seg) {
    t->ctr = (seg_ctr *)((char *)t->seg + t->seg->ctr_off);
    t->tags = (uint32_t *)((char *)t->seg + t->seg->tags_off);
    t->open = (open_entry *)((char *)t->seg + t->seg->open_off);
    t->hs = (hs_entry *)((char *)t->seg + t->seg->hs_off);
    t->recent = (open_entry *)((char *)t->seg + t->seg->recent_off);
    /* ring entries always hold this thread's handles of one-env classes (h2 = 0): those two
       fields are written once here, not at every insert */
    for (uint32_t k = 0; k < SEG_RECENT; k++) { t->recent[k].tid = t->tid; t->recent[k].h2 = 0; }
  }
  t->state = 1;
  errno = saved_errno;
}

static inline thread_ctx *tctx(void) {
  thread_ctx *t = &t_ctx;
  if (__builtin_expect(t->state == 0, 0)) thread_setup(t);
  return t;
}

/* Counter slot of a site in this thread's segment (single writer: no atomics needed). */
static uint32_t seg_slot(thread_ctx *t, uint32_t site) {
  if (!t->seg) return NO_SLOT;
  uint32_t h = (site * 0x9E3779B1u) >> (32 - 8);
  for (uint32_t i = 0; i < 32; i++) {
    uint32_t s = (h + i) & (SEG_CTR_CAP - 1);
    uint32_t cur = atomic_load_explicit(&t->ctr[s].site1, memory_order_relaxed);
    if (cur == site + 1) return s;
    if (cur == 0) { atomic_store_explicit(&t->ctr[s].site1, site + 1, memory_order_release); return s; }
  }
  return NO_SLOT;
}

enum { K_ACQ = 0, K_REL = 1, K_RELHERE = 2, K_LOST = 3, K_UNTRACKED = 4, K_TEARDOWN = 5 };

/* counter k of a site: in the thread's own slot (plain add), or the global entry (atomic) */
static inline void bump(thread_ctx *t, uint32_t site, uint32_t slot, int k) {
  if (site == NO_SITE) return;
  if (slot != NO_SLOT && t && t->seg) {
    _Atomic uint64_t *p = &t->ctr[slot].acquired + k;
    atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + 1, memory_order_relaxed);
  } else {
    atomic_fetch_add_explicit(&g_sites[site].acquired + k, 1, memory_order_relaxed);
  }
}

typedef struct { uint32_t site, slot; seg_ctr *ctr; } site_ref;

/* kind: pair | role << 8 (the load epoch is not part of the index: it rarely changes) */
static inline uint32_t memo_index(uintptr_t ra0, unsigned kind, uint64_t nh) {
  return (uint32_t)(((ra0 ^ ((uint64_t)kind << 40) ^ nh) * 0x9E3779B97F4A7C15ull) >> (64 - MEMO_BITS));
}

/* nm: the async resource name of this acquisition (NULL, or nm->ok == 0: none). */
static __attribute__((noinline)) site_ref resolve_slow(unsigned pair, unsigned role, void **fp, thread_ctx *t, memo_t *m, uint64_t key, const aname *nm) {
  chain_t c;
  collect(fp, &c);
  if (g_verify) verify_chain(c.pc, c.n, c.flags);
  atomic_fetch_add_explicit(&g_hdr->memo_misses, 1, memory_order_relaxed);
  if (c.flags & SF_TRUNCATED) atomic_fetch_add_explicit(&g_hdr->chains_truncated, 1, memory_order_relaxed);
  if (c.flags & SF_TAIL) atomic_fetch_add_explicit(&g_hdr->chains_tail, 1, memory_order_relaxed);
  uint32_t name_off = NAME_NONE;
  if (nm && nm->ok) {
    name_off = intern_name(nm);
    if (name_off == NAME_NONE) atomic_fetch_add_explicit(&g_hdr->names_dropped, 1, memory_order_relaxed);
  }
  site_ref r;
  r.site = site_lookup(pair, role, &c, name_off, nm ? nm->len : 0, nm && nm->len >= NAME_BUF - 1 ? SF_NAME_CUT : 0);
  r.slot = r.site != NO_SITE ? seg_slot(t, r.site) : NO_SLOT;
  r.ctr = r.slot != NO_SLOT ? &t->ctr[r.slot] : NULL;
  if (t->memo != g_no_memo && c.last != LAST_SANITY && (name_off != NAME_NONE || !(nm && nm->ok))) {
    m->ra0 = 0; /* invalid while being filled */
    m->key = key; m->site = r.site; m->slot = r.slot; m->ctr = r.ctr;
    m->name_hash = name_off != NAME_NONE ? nm->hash : 0;
    m->name = name_off != NAME_NONE ? (const uint64_t *)(g_strs + name_off) : NULL;
    m->name_len = name_off != NAME_NONE ? nm->len : 0;
    m->last = c.last;
    m->flags = c.flags;
    m->steps = (uint8_t)(c.last == LAST_ACCEPT ? c.n - 1 : c.n);
    for (int i = 0; i < c.n; i++) {
      m->pcs[i] = c.pc[i];
      m->st[i].use_bp = R_TYPE(c.rule[i]) == T_BP;
      m->st[i].cfa_off = (uint32_t)R_CFA(c.rule[i]);
      m->st[i].rbp8 = (uint16_t)R_RBP(c.rule[i]);
    }
    m->pcs[c.n] = c.last == LAST_NEXT ? c.next_pc : 0;
    m->check = m->steps == 0 ? CHECK_NONE : CHECK_WALK;
    if (m->steps == 1) {
      uintptr_t sp = (uintptr_t)(fp + 2);
      intptr_t bp_delta = (intptr_t)((uintptr_t)fp[0] - sp);
      int64_t ra1 = (int64_t)m->st[0].cfa_off - 8 + (m->st[0].use_bp ? bp_delta : 0);
      if (ra1 >= 0 && ra1 < (int64_t)MAX_FRAME_BYTES && (!m->st[0].use_bp || (bp_delta >= INT32_MIN && bp_delta <= INT32_MAX))) {
        m->check = m->st[0].use_bp ? CHECK_BP1 : CHECK_SP1;
        m->bp_delta = (int32_t)bp_delta;
        m->ra1_off = (int32_t)ra1;
      }
    }
    m->ra0 = c.pc[0];
  }
  return r;
}

/* The call site (global index + this thread's counter slot) of the current wrapper call.
   Memo hit: same frame-0 return address, pair, role, load epoch and name (compared word by
   word), and the re-walk finds the same return addresses. */
static inline __attribute__((always_inline)) site_ref resolve(unsigned pair, unsigned role, void **fp, thread_ctx *t, const aname *nm) {
  uintptr_t ra0 = (uintptr_t)fp[1];
  uint64_t key = pair | (role << 8) | ((uint64_t)atomic_load_explicit(&g_epoch, memory_order_relaxed) << 32);
  uint64_t nh = nm && nm->ok ? nm->hash : 0;
  memo_t *m = &t->memo[memo_index(ra0, pair | (role << 8), nh)];
  if (m->ra0 == ra0 && m->key == key && m->name_hash == nh &&
      (nh == 0 || (m->name_len == nm->len && name_equal(m->name, nm->w, nm->len))) && memo_check(m, fp)) {
    if (__builtin_expect(g_verify, 0)) verify_chain(m->pcs, m->last == LAST_ACCEPT ? m->steps + 1 : m->steps, m->flags);
    return (site_ref){m->site, m->slot, (seg_ctr *)m->ctr};
  }
  return resolve_slow(pair, role, fp, t, m, key, nm);
}

/* counter k of a resolved site: this thread's slot (plain add) or the global entry (atomic) */
static inline void bump_ref(site_ref r, int k) {
  if (__builtin_expect(r.ctr != NULL, 1)) {
    _Atomic uint64_t *p = &r.ctr->acquired + k;
    atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + 1, memory_order_relaxed);
  } else if (r.site != NO_SITE) {
    atomic_fetch_add_explicit(&g_sites[r.site].acquired + k, 1, memory_order_relaxed);
  }
}

/* ------------------------------------------------------------------------ */
/* Open-handle tables                                                        */
/* ------------------------------------------------------------------------ */
/* One multiply: the group comes from the top bits, the 30-bit tag from bits 32..61. */
static inline uint64_t key_hash(unsigned cls, uint64_t h1, uint64_t h2) {
  return (h1 ^ (h2 * 0xC2B2AE3D27D4EB4Full) ^ ((uint64_t)cls << 59)) * 0x9E3779B97F4A7C15ull;
}
static inline uint32_t tag_of(uint64_t h) { return (uint32_t)(h >> 32) & ~3u; }
static inline uint32_t group_of(uint64_t h, uint32_t mask) { return (uint32_t)(h >> 40) & mask; }

/* Bit k set when tags[k] == want, for one 16-slot group (64-byte aligned). SSE2. */
static inline uint32_t group_match(const void *tags, uint32_t want) {
  const __m128i *v = (const __m128i *)tags;
  __m128i w = _mm_set1_epi32((int)want);
  __m128i a = _mm_cmpeq_epi32(_mm_load_si128(v), w), b = _mm_cmpeq_epi32(_mm_load_si128(v + 1), w);
  __m128i c = _mm_cmpeq_epi32(_mm_load_si128(v + 2), w), d = _mm_cmpeq_epi32(_mm_load_si128(v + 3), w);
  return (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(_mm_packs_epi32(a, b), _mm_packs_epi32(c, d)));
}

typedef struct {
  int local;
  uint32_t site, slot, tid;
  uint16_t pair;
  int64_t count;
} claim_t;

/* --- global table (CAS) --- */
static int g_claim(unsigned cls, uint64_t h1, uint64_t h2, claim_t *c) {
  uint64_t h = key_hash(cls, h1, h2);
  uint32_t tag = tag_of(h);
  uint32_t g = group_of(h, g_open_groups_mask);
  for (int w = 0; w < OPEN_WINDOW; w++) {
    uint32_t base = ((g + w) & g_open_groups_mask) * OPEN_GROUP;
    for (int k = 0; k < OPEN_GROUP; k++) {
      uint32_t slot = base + k;
      uint32_t st = atomic_load_explicit(&g_tags[slot], memory_order_acquire);
      if (st != (tag | OT_LIVE)) continue;
      uint32_t expect = st;
      if (!atomic_compare_exchange_strong(&g_tags[slot], &expect, tag | OT_CLAIMED)) continue;
      open_entry *e = &g_open[slot];
      if (e->h1 == h1 && e->h2 == h2 && pair_class[e->pair] == cls) {
        c->local = 0; c->site = e->site; c->slot = e->slot; c->pair = e->pair; c->tid = e->tid;
        c->count = atomic_load_explicit(&e->count, memory_order_relaxed);
        atomic_store_explicit(&g_tags[slot], OT_EMPTY, memory_order_release);
        atomic_fetch_sub_explicit(&g_hdr->global_live[cls], 1, memory_order_relaxed);
        return 1;
      }
      atomic_store_explicit(&g_tags[slot], tag | OT_LIVE, memory_order_release);
    }
  }
  return 0;
}

static open_entry *g_find(unsigned cls, uint64_t h1, uint64_t h2) {
  uint64_t h = key_hash(cls, h1, h2);
  uint32_t tag = tag_of(h);
  uint32_t g = group_of(h, g_open_groups_mask);
  for (int w = 0; w < OPEN_WINDOW; w++) {
    uint32_t base = ((g + w) & g_open_groups_mask) * OPEN_GROUP;
    for (int k = 0; k < OPEN_GROUP; k++) {
      uint32_t slot = base + k;
      if (atomic_load_explicit(&g_tags[slot], memory_order_acquire) != (tag | OT_LIVE)) continue;
      open_entry *e = &g_open[slot];
      if (e->h1 == h1 && e->h2 == h2 && pair_class[e->pair] == cls) return e;
    }
  }
  return NULL;
}

static int g_insert(unsigned pair, uint64_t h1, uint64_t h2, uint32_t site, int64_t count, uint32_t aux, uint32_t tid) {
  unsigned cls = pair_class[pair];
  claim_t stale;
  while (g_claim(cls, h1, h2, &stale)) {
    if (stale.site != NO_SITE) atomic_fetch_add_explicit(&g_sites[stale.site].lost, 1, memory_order_relaxed);
  }
  uint64_t h = key_hash(cls, h1, h2);
  uint32_t tag = tag_of(h);
  uint32_t g = group_of(h, g_open_groups_mask);
  for (int w = 0; w < OPEN_WINDOW; w++) {
    uint32_t base = ((g + w) & g_open_groups_mask) * OPEN_GROUP;
    for (int k = 0; k < OPEN_GROUP; k++) {
      uint32_t slot = base + k;
      if (atomic_load_explicit(&g_tags[slot], memory_order_relaxed) != OT_EMPTY) continue;
      uint32_t expect = OT_EMPTY;
      if (!atomic_compare_exchange_strong(&g_tags[slot], &expect, tag | OT_BUSY)) continue;
      open_entry *e = &g_open[slot];
      e->h1 = h1; e->h2 = h2; e->site = site; e->pair = (uint16_t)pair; e->flags = 0;
      atomic_store_explicit(&e->count, count, memory_order_relaxed);
      e->slot = aux; e->tid = tid;
      atomic_fetch_add_explicit(&g_hdr->global_live[cls], 1, memory_order_relaxed);
      atomic_store_explicit(&g_tags[slot], tag | OT_LIVE, memory_order_release);
      return 1;
    }
  }
  return 0;
}

/* --- per-thread table (single writer: plain loads, release stores) --- */
#define SEG_GROUPS_MASK (SEG_OPEN_CAP / OPEN_GROUP - 1)
static inline void tag_store(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

static inline int l_claim(thread_ctx *t, unsigned cls, uint64_t h1, uint64_t h2, claim_t *c) {
  uint64_t h = key_hash(cls, h1, h2);
  uint32_t base = group_of(h, SEG_GROUPS_MASK) * OPEN_GROUP;
  for (uint32_t m = group_match(t->tags + base, tag_of(h) | OT_LIVE); m; m &= m - 1) {
    uint32_t k = base + (uint32_t)__builtin_ctz(m);
    open_entry *e = &t->open[k];
    if (e->h1 != h1 || e->h2 != h2 || pair_class[e->pair] != cls) continue;
    c->local = 1; c->site = e->site; c->slot = e->slot; c->pair = e->pair; c->tid = e->tid;
    c->count = atomic_load_explicit(&e->count, memory_order_relaxed);
    tag_store(&t->tags[k], OT_EMPTY);
    return 1;
  }
  return 0;
}

static inline open_entry *l_find(thread_ctx *t, unsigned cls, uint64_t h1, uint64_t h2) {
  uint64_t h = key_hash(cls, h1, h2);
  uint32_t base = group_of(h, SEG_GROUPS_MASK) * OPEN_GROUP;
  for (uint32_t m = group_match(t->tags + base, tag_of(h) | OT_LIVE); m; m &= m - 1) {
    open_entry *e = &t->open[base + (uint32_t)__builtin_ctz(m)];
    if (e->h1 == h1 && e->h2 == h2 && pair_class[e->pair] == cls) return e;
  }
  return NULL;
}

/* Inserts into this thread's table; a live entry with the same key (a release we did not
   see) is replaced and counted as lost. 0 if the group is full. */
static inline int l_insert(thread_ctx *t, unsigned pair, uint64_t h1, uint64_t h2, uint32_t site, uint32_t slot, int64_t count) {
  unsigned cls = pair_class[pair];
  uint64_t h = key_hash(cls, h1, h2);
  uint32_t tag = tag_of(h);
  uint32_t base = group_of(h, SEG_GROUPS_MASK) * OPEN_GROUP;
  uint32_t free_mask = group_match(t->tags + base, OT_EMPTY);
  for (uint32_t m = group_match(t->tags + base, tag | OT_LIVE); m; m &= m - 1) {
    uint32_t k = (uint32_t)__builtin_ctz(m);
    open_entry *e = &t->open[base + k];
    if (e->h1 != h1 || e->h2 != h2 || pair_class[e->pair] != cls) continue;
    bump(t, e->site, e->slot, K_LOST);
    tag_store(&t->tags[base + k], OT_EMPTY);
    free_mask |= 1u << k;
  }
  if (!free_mask) return 0;
  uint32_t k = base + (uint32_t)__builtin_ctz(free_mask);
  open_entry *e = &t->open[k];
  e->h1 = h1; e->h2 = h2; e->site = site; e->pair = (uint16_t)pair; e->flags = 0;
  atomic_store_explicit(&e->count, count, memory_order_relaxed);
  e->slot = slot; e->tid = t->tid;
  tag_store(&t->tags[k], tag | OT_LIVE);
  return 1;
}

static inline int is_scope_class(unsigned cls) { return cls == C_HSCOPE || cls == C_ESCOPE; }

/* The recent ring: most handles are released soon after they are acquired, by the same
   thread, so acquisitions go to a 16-entry ring first and only the ones still open 16
   acquisitions later move to the hash table. A release looks at the ring first. */
static inline void flags_store(uint16_t *p, uint16_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

/* (ring entries are of one-env classes only, whose h2 is always 0) */
static inline int r_claim(thread_ctx *t, unsigned cls, uint64_t h1, uint64_t h2, claim_t *c) {
  (void)h2;
  uint32_t head = t->recent_head;
  for (uint32_t k = 1; k <= SEG_RECENT; k++) {
    open_entry *e = &t->recent[(head - k) & (SEG_RECENT - 1)];
    if (e->h1 != h1 || !(e->flags & OE_LIVE) || pair_class[e->pair] != cls) continue;
    c->local = 1; c->site = e->site; c->slot = e->slot; c->pair = e->pair; c->tid = t->tid;
    c->count = atomic_load_explicit(&e->count, memory_order_relaxed);
    flags_store(&e->flags, 0);
    return 1;
  }
  return 0;
}

static inline open_entry *r_find(thread_ctx *t, unsigned cls, uint64_t h1, uint64_t h2) {
  for (uint32_t k = 0; k < SEG_RECENT; k++) {
    open_entry *e = &t->recent[k];
    if (e->h1 == h1 && (e->flags & OE_LIVE) && e->h2 == h2 && pair_class[e->pair] == cls) return e;
  }
  return NULL;
}

static int g_insert(unsigned pair, uint64_t h1, uint64_t h2, uint32_t site, int64_t count, uint32_t aux, uint32_t tid);

/* A ring entry still open 16 acquisitions later moves to the thread's table. */
static __attribute__((noinline)) void r_evict(thread_ctx *t, open_entry *e) {
  int64_t n = atomic_load_explicit(&e->count, memory_order_relaxed);
  if (!l_insert(t, e->pair, e->h1, 0, e->site, e->slot, n) &&
      !g_insert(e->pair, e->h1, 0, e->site, n, NO_SLOT, t->tid)) {
    bump(t, e->site, e->slot, K_UNTRACKED);
    atomic_fetch_add_explicit(&g_hdr->untracked[e->pair], 1, memory_order_relaxed);
  }
  flags_store(&e->flags, 0);
}

/* h1 of a one-env class (h2 = 0, tid preset: see thread_setup). site, pair and the live flag
   share one 8-byte word, stored last: a reader (a cut) sees a complete entry or none. */
static inline __attribute__((always_inline)) void r_insert(thread_ctx *t, unsigned pair, uint64_t h1, uint32_t site, uint32_t slot, int64_t count) {
  open_entry *e = &t->recent[t->recent_head++ & (SEG_RECENT - 1)];
  if (__builtin_expect(e->flags & OE_LIVE, 0)) r_evict(t, e);
  e->h1 = h1; e->slot = slot;
  atomic_store_explicit(&e->count, count, memory_order_relaxed);
  _Static_assert(offsetof(open_entry, pair) == offsetof(open_entry, site) + 4 && offsetof(open_entry, flags) == offsetof(open_entry, site) + 6 &&
                 offsetof(open_entry, site) % 8 == 0 && sizeof(open_entry) % 8 == 0, "site|pair|flags word");
  __atomic_store_n((u64_alias *)&e->site, (uint64_t)site | ((uint64_t)pair << 32) | ((uint64_t)OE_LIVE << 48), __ATOMIC_RELEASE);
}

static inline int hs_push(thread_ctx *t, unsigned pair, uint64_t h, uint32_t site, uint32_t slot) {
  uint32_t top = atomic_load_explicit(&t->seg->hs_top, memory_order_relaxed);
  if (top >= SEG_HS_CAP) return 0;
  hs_entry *e = &t->hs[top];
  e->h = h; e->site = site; e->pair = (uint16_t)pair; e->flags = 0; e->slot = slot;
  atomic_store_explicit(&t->seg->hs_top, top + 1, memory_order_release);
  return 1;
}

static inline int hs_pop(thread_ctx *t, unsigned cls, uint64_t h, claim_t *c) {
  uint32_t top = atomic_load_explicit(&t->seg->hs_top, memory_order_relaxed);
  for (uint32_t i = top; i-- > 0;) {
    hs_entry *e = &t->hs[i];
    if (e->h != h || pair_class[e->pair] != cls) continue;
    c->local = 1; c->site = e->site; c->slot = e->slot; c->pair = e->pair; c->tid = t->tid; c->count = 1;
    if (i + 1 < top) memmove(&t->hs[i], &t->hs[i + 1], (top - 1 - i) * sizeof(hs_entry)); /* out of order */
    atomic_store_explicit(&t->seg->hs_top, top - 1, memory_order_release);
    return 1;
  }
  return 0;
}

/* The usual release: of the handle this thread acquired last (newest ring entry). */
static inline __attribute__((always_inline)) int claim_newest(thread_ctx *t, unsigned cls, uint64_t h1, claim_t *c) {
  if (__builtin_expect(t->seg == NULL, 0)) return 0;
  open_entry *e = &t->recent[(t->recent_head - 1) & (SEG_RECENT - 1)];
  if (e->h1 != h1 || !(e->flags & OE_LIVE) || pair_class[e->pair] != cls) return 0;
  c->local = 1; c->site = e->site; c->slot = e->slot; c->pair = e->pair; c->tid = t->tid;
  c->count = atomic_load_explicit(&e->count, memory_order_relaxed);
  flags_store(&e->flags, 0);
  return 1;
}

static __attribute__((noinline)) int claim_any_slow(thread_ctx *t, unsigned cls, uint64_t h1, uint64_t h2, claim_t *c);

static inline __attribute__((always_inline)) int claim_any(thread_ctx *t, unsigned cls, uint64_t h1, uint64_t h2, claim_t *c) {
  if (class_local[cls] && t->seg) {
    if (is_scope_class(cls) ? hs_pop(t, cls, h1, c) : (r_claim(t, cls, h1, h2, c) || l_claim(t, cls, h1, h2, c))) return 1;
  }
  if (atomic_load_explicit(&g_hdr->global_live[cls], memory_order_relaxed) == 0) return 0;
  return g_claim(cls, h1, h2, c);
}

static __attribute__((noinline)) int claim_any_slow(thread_ctx *t, unsigned cls, uint64_t h1, uint64_t h2, claim_t *c) {
  return claim_any(t, cls, h1, h2, c);
}

static open_entry *find_any(thread_ctx *t, unsigned cls, uint64_t h1, uint64_t h2) {
  open_entry *e = NULL;
  if (class_local[cls] && t->seg && !is_scope_class(cls)) {
    e = r_find(t, cls, h1, h2);
    if (!e) e = l_find(t, cls, h1, h2);
  }
  if (!e && atomic_load_explicit(&g_hdr->global_live[cls], memory_order_relaxed) != 0) e = g_find(cls, h1, h2);
  return e;
}

/* ------------------------------------------------------------------------ */
/* Booking                                                                   */
/* ------------------------------------------------------------------------ */
static inline int ready(void) { return atomic_load_explicit(&g_state, memory_order_acquire) == 2; }

static inline __attribute__((always_inline)) void book_acquire_at(thread_ctx *t, site_ref s, unsigned pair, uint64_t h1, uint64_t h2, int64_t count, uint32_t aux) {
  if (s.site == NO_SITE) { atomic_fetch_add_explicit(&g_hdr->no_site[pair], 1, memory_order_relaxed); return; }
  bump_ref(s, K_ACQ);
  unsigned cls = pair_class[pair];
  int ok = 0;
  if (class_local[cls] && t->seg) {
    if (atomic_load_explicit(&g_hdr->global_live[cls], memory_order_relaxed) != 0) {
      claim_t stale;
      while (g_claim(cls, h1, h2, &stale))
        if (stale.site != NO_SITE) atomic_fetch_add_explicit(&g_sites[stale.site].lost, 1, memory_order_relaxed);
    }
    if (is_scope_class(cls)) ok = hs_push(t, pair, h1, s.site, s.slot);
    else { r_insert(t, pair, h1, s.site, s.slot, count); ok = 1; }
    if (!ok) atomic_fetch_add_explicit(&t->seg->overflow, 1, memory_order_relaxed);
  }
  if (!ok) ok = g_insert(pair, h1, h2, s.site, count, aux, t->tid);
  if (!ok) {
    bump_ref(s, K_UNTRACKED);
    atomic_fetch_add_explicit(&g_hdr->untracked[pair], 1, memory_order_relaxed);
  }
}

static __attribute__((noinline)) void book_acquire_at_slow(thread_ctx *t, site_ref s, unsigned pair, uint64_t h1, uint64_t h2, int64_t count, uint32_t aux) {
  book_acquire_at(t, s, pair, h1, h2, count, aux);
}

static inline __attribute__((always_inline)) void book_acquire(unsigned pair, uint64_t h1, uint64_t h2, int64_t count, void **fp, uint32_t aux, const aname *nm) {
  thread_ctx *t = tctx();
  book_acquire_at(t, resolve(pair, 0, fp, t, nm), pair, h1, h2, count, aux);
}

/* After a successful release call: attribute it to the acquiring site and the releasing site. */
static inline __attribute__((always_inline)) void book_release(thread_ctx *t, int found, const claim_t *c, unsigned default_pair, void **fp) {
  unsigned pair = found ? c->pair : default_pair;
  if (found) {
    if (c->local) bump(t, c->site, c->slot, K_REL);
    else if (c->site != NO_SITE) atomic_fetch_add_explicit(&g_sites[c->site].released, 1, memory_order_relaxed);
  } else {
    atomic_fetch_add_explicit(&g_hdr->unmatched_release[pair], 1, memory_order_relaxed);
  }
  if (g_relsite_mask & (1u << pair)) {
    site_ref r = resolve(pair, 1, fp, t, NULL);
    bump_ref(r, K_RELHERE);
  }
}

/* A release call failed after we claimed the entry: put it back. */
static void unclaim(thread_ctx *t, const claim_t *c, uint64_t h1, uint64_t h2) {
  if (c->local && t->seg) {
    if (!is_scope_class(pair_class[c->pair])) { r_insert(t, c->pair, h1, c->site, c->slot, c->count); return; }
    if (hs_push(t, c->pair, h1, c->site, c->slot)) return;
  }
  if (!g_insert(c->pair, h1, h2, c->site, c->count, c->local ? NO_SLOT : c->slot, c->tid) && c->site != NO_SITE)
    atomic_fetch_add_explicit(&g_sites[c->site].untracked, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------------------ */
/* Wrappers                                                                  */
/* ------------------------------------------------------------------------ */
typedef int napi_status;
typedef void *napi_env, *napi_value, *napi_ref, *napi_async_context, *napi_callback_scope,
    *napi_async_work, *napi_threadsafe_function, *napi_handle_scope, *napi_escapable_handle_scope,
    *napi_async_cleanup_hook_handle;
#define NAPI_OK 0
#define TSFN_ABORT 1

#define REAL(id, type) ((type)atomic_load_explicit(&g_real[id], memory_order_relaxed))
#define FP() ((void **)__builtin_frame_address(0))
#define FAILED(pair) atomic_fetch_add_explicit(&g_hdr->failed_calls[pair], 1, memory_order_relaxed)
#define H(x) ((uint64_t)(uintptr_t)(x))

/* Wrappers are only handed out once the ledger exists, so they need no readiness check. */
#define ACQUIRE_TAIL(pair, handle_expr, h2, count)                                  \
  if (s == NAPI_OK) book_acquire(pair, H(handle_expr), h2, count, FP(), NO_SLOT, NULL); \
  else FAILED(pair);                                                                \
  return s;

#define RELEASE_BODY(pair, h, call)                                                 \
  void **fp = FP();                                                                 \
  thread_ctx *t = tctx();                                                           \
  claim_t c;                                                                        \
  int found = claim_newest(t, pair_class[pair], H(h), &c) ||                        \
              claim_any_slow(t, pair_class[pair], H(h), 0, &c);                     \
  napi_status s = call;                                                             \
  if (s == NAPI_OK) book_release(t, found, &c, pair, fp);                           \
  else { FAILED(pair); if (found) unclaim(t, &c, H(h), 0); }                        \
  return s;

/* Async resource names. napi_get_value_string_utf8 is looked up (once) in the object that
   defines the real acquire function (node, or libnode.so), and called directly: it is not a
   binding of any addon, so it is neither wrapped nor counted. */
typedef napi_status (*t_get_str)(napi_env, napi_value, char *, size_t, size_t *);
typedef napi_status (*t_typeof)(napi_env, napi_value, int *);
typedef napi_status (*t_get_bool)(napi_env, napi_value, _Bool *);
typedef napi_status (*t_coerce)(napi_env, napi_value, napi_value *);
static void *_Atomic g_get_str, *_Atomic g_typeof, *_Atomic g_get_bool, *_Atomic g_coerce;
static _Atomic int g_name_fns; /* 0 not looked up, 1 looking up, 2 done (g_get_str NULL: unavailable) */
enum { NV_UNDEFINED = 0, NV_NULL = 1, NV_BOOLEAN = 2, NV_NUMBER = 3, NV_BIGINT = 9 }; /* napi_valuetype */

static __attribute__((noinline)) t_get_str lookup_name_fns(void *real_fn) {
  int expect = 0;
  if (atomic_compare_exchange_strong(&g_name_fns, &expect, 1)) {
    int saved_errno = errno;
    Dl_info info;
    struct link_map *lm = NULL;
    void *gs = NULL, *ty = NULL, *gb = NULL, *co = NULL;
    if (dladdr1(real_fn, &info, (void **)&lm, RTLD_DL_LINKMAP) && lm) {
      gs = dlsym(lm, "napi_get_value_string_utf8");
      ty = dlsym(lm, "napi_typeof");
      gb = dlsym(lm, "napi_get_value_bool");
      co = dlsym(lm, "napi_coerce_to_string");
    }
    if (!ty || !gb || !co) gs = NULL; /* all are needed on the non-string path */
    atomic_store(&g_typeof, ty);
    atomic_store(&g_get_bool, gb);
    atomic_store(&g_coerce, co);
    atomic_store(&g_get_str, gs);
    errno = saved_errno;
    atomic_store(&g_name_fns, 2);
  } else {
    while (atomic_load(&g_name_fns) == 1) sched_yield();
  }
  return (t_get_str)atomic_load(&g_get_str);
}

/* The name Node used for a resource name that is not a string (it coerced it with
   ToString): computed for primitives whose ToString runs no JS code (undefined, null,
   booleans, numbers, BigInts: older napi-rs passes undefined, so its async work is
   "undefined" to async_hooks too). Objects are left alone (their toString is JS code):
   no name. Every path ends with a successful call (napi_typeof last), so the env's
   last-error state is "ok", as the successful acquisition had left it. */
static __attribute__((noinline)) int read_name_nonstring(napi_env env, napi_value v, t_get_str get, aname *nm, size_t *len) {
  t_typeof type_of = (t_typeof)atomic_load(&g_typeof);
  int type = -1, ok = 0;
  type_of(env, v, &type);
  const char *lit = NULL;
  if (type == NV_UNDEFINED) lit = "undefined";
  else if (type == NV_NULL) lit = "null";
  else if (type == NV_BOOLEAN) {
    _Bool b = 0;
    if (((t_get_bool)atomic_load(&g_get_bool))(env, v, &b) == NAPI_OK) lit = b ? "true" : "false";
  } else if (type == NV_NUMBER || type == NV_BIGINT) {
    napi_value str = NULL;
    if (((t_coerce)atomic_load(&g_coerce))(env, v, &str) == NAPI_OK && get(env, str, (char *)nm->w, NAME_BUF, len) == NAPI_OK) ok = 1;
    type_of(env, v, &type); /* whatever happened above, the last error is "ok" again */
  }
  if (lit) { *len = strlen(lit); memcpy(nm->w, lit, *len + 1); ok = 1; }
  if (!ok) atomic_fetch_add_explicit(&g_hdr->names_unreadable, 1, memory_order_relaxed);
  return ok;
}

/* Reads the async resource name of a successful acquisition into nm (nm->ok = 0 if none). */
static inline __attribute__((always_inline)) void read_name(napi_env env, napi_value v, void *real_fn, aname *nm) {
  nm->ok = 0;
  if (!g_async_names) return;
  t_get_str get = (t_get_str)atomic_load_explicit(&g_get_str, memory_order_relaxed);
  if (__builtin_expect(get == NULL, 0)) {
    if (atomic_load_explicit(&g_name_fns, memory_order_acquire) == 2 || !(get = lookup_name_fns(real_fn))) return;
  }
  size_t len = 0;
  /* a failed read (not a string) sets the env's last error, which the successful
     acquisition had cleared: read_name_nonstring clears it again */
  if (__builtin_expect(get(env, v, (char *)nm->w, NAME_BUF, &len) != NAPI_OK, 0) && !read_name_nonstring(env, v, get, nm, &len)) return;
  /* byte [len] is the NUL: zero the rest of its word. Words [0, len/8] are the name (hashed,
     compared and stored as whole words); the ones after are never read. */
  uint32_t n = (uint32_t)len;
  uint64_t *last = &nm->w[n >> 3];
  *last &= ((uint64_t)1 << ((n & 7) * 8)) - 1;
  nm->len = n;
  nm->hash = name_hash(nm->w, n); /* all words: names often share a prefix and differ anywhere */
  nm->ok = 1;
}

#define NAMED_ACQUIRE_TAIL(pair, fn_id, handle_expr, name_value, count)             \
  if (s == NAPI_OK) {                                                               \
    aname nm;                                                                       \
    read_name(env, name_value, atomic_load_explicit(&g_real[fn_id], memory_order_relaxed), &nm); \
    book_acquire(pair, H(handle_expr), 0, count, FP(), NO_SLOT, &nm);               \
  } else FAILED(pair);                                                              \
  return s;

typedef napi_status (*t_async_init)(napi_env, napi_value, napi_value, napi_async_context *);
static napi_status w_async_init(napi_env env, napi_value res, napi_value name, napi_async_context *result) {
  napi_status s = REAL(F_ASYNC_INIT, t_async_init)(env, res, name, result);
  NAMED_ACQUIRE_TAIL(P_ASYNC_INIT, F_ASYNC_INIT, *result, name, 1)
}
typedef napi_status (*t_async_destroy)(napi_env, napi_async_context);
static napi_status w_async_destroy(napi_env env, napi_async_context ctx) {
  RELEASE_BODY(P_ASYNC_INIT, ctx, REAL(F_ASYNC_DESTROY, t_async_destroy)(env, ctx))
}

typedef napi_status (*t_open_cb_scope)(napi_env, napi_value, napi_async_context, napi_callback_scope *);
static napi_status w_open_cb_scope(napi_env env, napi_value res, napi_async_context ctx, napi_callback_scope *result) {
  napi_status s = REAL(F_OPEN_CB_SCOPE, t_open_cb_scope)(env, res, ctx, result);
  ACQUIRE_TAIL(P_CALLBACK_SCOPE, *result, 0, 1)
}
typedef napi_status (*t_close_cb_scope)(napi_env, napi_callback_scope);
static napi_status w_close_cb_scope(napi_env env, napi_callback_scope scope) {
  RELEASE_BODY(P_CALLBACK_SCOPE, scope, REAL(F_CLOSE_CB_SCOPE, t_close_cb_scope)(env, scope))
}

typedef napi_status (*t_create_ref)(napi_env, napi_value, uint32_t, napi_ref *);
static napi_status w_create_ref(napi_env env, napi_value v, uint32_t initial, napi_ref *result) {
  napi_status s = REAL(F_CREATE_REF, t_create_ref)(env, v, initial, result);
  ACQUIRE_TAIL(P_CREATE_REF, *result, 0, (int64_t)initial)
}
typedef napi_status (*t_delete_ref)(napi_env, napi_ref);
static napi_status w_delete_ref(napi_env env, napi_ref ref) {
  RELEASE_BODY(P_CREATE_REF, ref, REAL(F_DELETE_REF, t_delete_ref)(env, ref))
}
typedef napi_status (*t_ref_refunref)(napi_env, napi_ref, uint32_t *);
static void adjust_count(unsigned cls, uint64_t h, int64_t delta, const uint32_t *result) {
  thread_ctx *t = tctx();
  open_entry *e = find_any(t, cls, h, 0);
  if (!e) { atomic_fetch_add_explicit(&g_hdr->refcount_unknown, 1, memory_order_relaxed); return; }
  if (result) atomic_store_explicit(&e->count, (int64_t)*result, memory_order_relaxed);
  else atomic_fetch_add_explicit(&e->count, delta, memory_order_relaxed);
}
static napi_status w_ref_ref(napi_env env, napi_ref ref, uint32_t *result) {
  napi_status s = REAL(F_REF_REF, t_ref_refunref)(env, ref, result);
  if (s == NAPI_OK) adjust_count(C_REF, H(ref), 1, result);
  return s;
}
static napi_status w_ref_unref(napi_env env, napi_ref ref, uint32_t *result) {
  napi_status s = REAL(F_REF_UNREF, t_ref_refunref)(env, ref, result);
  if (s == NAPI_OK) adjust_count(C_REF, H(ref), -1, result);
  return s;
}

typedef napi_status (*t_wrap)(napi_env, napi_value, void *, void *, void *, napi_ref *);
static napi_status w_wrap(napi_env env, napi_value obj, void *native, void *fin, void *hint, napi_ref *result) {
  napi_status s = REAL(F_WRAP, t_wrap)(env, obj, native, fin, hint, result);
  if (result == NULL) return s; /* no reference handed out: nothing to release */
  ACQUIRE_TAIL(P_WRAP_REF, *result, 0, 0)
}
static napi_status w_add_finalizer(napi_env env, napi_value obj, void *data, void *fin, void *hint, napi_ref *result) {
  napi_status s = REAL(F_ADD_FINALIZER, t_wrap)(env, obj, data, fin, hint, result);
  if (result == NULL) return s;
  ACQUIRE_TAIL(P_FINALIZER_REF, *result, 0, 0)
}

typedef napi_status (*t_create_work)(napi_env, napi_value, napi_value, void *, void *, void *, napi_async_work *);
static napi_status w_create_work(napi_env env, napi_value res, napi_value name, void *exec, void *complete, void *data, napi_async_work *result) {
  napi_status s = REAL(F_CREATE_WORK, t_create_work)(env, res, name, exec, complete, data, result);
  NAMED_ACQUIRE_TAIL(P_ASYNC_WORK, F_CREATE_WORK, *result, name, 1)
}
typedef napi_status (*t_delete_work)(napi_env, napi_async_work);
static napi_status w_delete_work(napi_env env, napi_async_work work) {
  RELEASE_BODY(P_ASYNC_WORK, work, REAL(F_DELETE_WORK, t_delete_work)(env, work))
}

typedef napi_status (*t_create_tsfn)(napi_env, napi_value, napi_value, napi_value, size_t, size_t, void *, void *, void *, void *, napi_threadsafe_function *);
static napi_status w_create_tsfn(napi_env env, napi_value func, napi_value res, napi_value name, size_t max_queue, size_t initial_threads,
                                 void *fin_data, void *fin_cb, void *context, void *call_js, napi_threadsafe_function *result) {
  napi_status s = REAL(F_CREATE_TSFN, t_create_tsfn)(env, func, res, name, max_queue, initial_threads, fin_data, fin_cb, context, call_js, result);
  NAMED_ACQUIRE_TAIL(P_TSFN, F_CREATE_TSFN, *result, name, (int64_t)initial_threads)
}
typedef napi_status (*t_acquire_tsfn)(napi_threadsafe_function);
static napi_status w_acquire_tsfn(napi_threadsafe_function f) {
  napi_status s = REAL(F_ACQUIRE_TSFN, t_acquire_tsfn)(f);
  if (s == NAPI_OK) adjust_count(C_TSFN, H(f), 1, NULL);
  return s;
}
typedef napi_status (*t_release_tsfn)(napi_threadsafe_function, int);
static napi_status w_release_tsfn(napi_threadsafe_function f, int mode) {
  void **fp = FP();
  thread_ctx *t = tctx();
  claim_t c;
  int found = 0, decremented = 0;
  open_entry *e = g_find(C_TSFN, H(f), 0);
  if (e) {
    if (mode == TSFN_ABORT) {
      found = g_claim(C_TSFN, H(f), 0, &c);
    } else {
      int64_t left = atomic_fetch_sub_explicit(&e->count, 1, memory_order_acq_rel) - 1;
      decremented = 1;
      if (left <= 0) { found = g_claim(C_TSFN, H(f), 0, &c); decremented = !found; }
    }
  }
  napi_status s = REAL(F_RELEASE_TSFN, t_release_tsfn)(f, mode);
  if (s == NAPI_OK) {
    if (found) book_release(t, 1, &c, P_TSFN, fp);
    else if (!e) book_release(t, 0, &c, P_TSFN, fp); /* unknown handle */
    /* else: one thread gave its slot back; the TSFN stays open */
  } else {
    FAILED(P_TSFN);
    if (found) { if (mode != TSFN_ABORT) c.count += 1; unclaim(t, &c, H(f), 0); }
    else if (decremented) atomic_fetch_add_explicit(&e->count, 1, memory_order_relaxed);
  }
  return s;
}

/* Env cleanup hooks. Node runs the hooks still registered at env teardown (and forgets
   them), which the addon never sees. To count those as "ended by teardown" instead of
   "open", the hook is registered as (env_hook_tramp, closure): same number of entries in
   Node's CleanupQueue, same order, and the same duplicate-(fun,arg) abort, since a live
   (fun,arg) is passed on with its existing closure. */
static uint32_t closure_alloc(void (*fun)(void *), void *arg) {
  unsigned spins = 0;
  while (atomic_flag_test_and_set_explicit(&g_closure_lock, memory_order_acquire)) cpu_relax(&spins);
  uint32_t i = NO_SLOT;
  if (g_closure_free_head != NO_SLOT) { i = g_closure_free_head; g_closure_free_head = g_closures[i].next_free; }
  else if (g_closure_next < CLOSURE_CAP) i = g_closure_next++;
  if (i != NO_SLOT) { g_closures[i].fun = fun; g_closures[i].arg = arg; g_closures[i].used = 1; }
  atomic_flag_clear_explicit(&g_closure_lock, memory_order_release);
  return i;
}
static void closure_free(uint32_t i) {
  unsigned spins = 0;
  while (atomic_flag_test_and_set_explicit(&g_closure_lock, memory_order_acquire)) cpu_relax(&spins);
  if (g_closures[i].used) { g_closures[i].used = 0; g_closures[i].next_free = g_closure_free_head; g_closure_free_head = i; }
  atomic_flag_clear_explicit(&g_closure_lock, memory_order_release);
}
static uint32_t closure_find(void *fun, void *arg) {
  unsigned spins = 0;
  uint32_t r = NO_SLOT;
  while (atomic_flag_test_and_set_explicit(&g_closure_lock, memory_order_acquire)) cpu_relax(&spins);
  for (uint32_t i = 0; i < g_closure_next; i++)
    if (g_closures[i].used && (void *)g_closures[i].fun == fun && g_closures[i].arg == arg) { r = i; break; }
  atomic_flag_clear_explicit(&g_closure_lock, memory_order_release);
  return r;
}

static void env_hook_tramp(void *p) {
  hook_closure *cl = (hook_closure *)p;
  uint32_t idx = (uint32_t)(cl - g_closures);
  void (*fun)(void *) = cl->fun;
  void *arg = cl->arg;
  fun(arg);
  /* Still registered after it ran: Node ran it at env teardown. (If the hook removed itself,
     w_remove_env_hook already booked that and freed the closure.) */
  claim_t c;
  if (g_claim(C_ENVHOOK, H(fun), H(arg), &c)) {
    if (c.slot == idx) {
      if (c.site != NO_SITE) atomic_fetch_add_explicit(&g_sites[c.site].teardown, 1, memory_order_relaxed);
      closure_free(idx);
    } else {
      g_insert(c.pair, H(fun), H(arg), c.site, c.count, c.slot, c.tid);
    }
  }
}

typedef napi_status (*t_env_hook)(napi_env, void *, void *);
static napi_status w_add_env_hook(napi_env env, void *fun, void *arg) {
  void **fp = FP();
  t_env_hook real = REAL(F_ADD_ENV_HOOK, t_env_hook);
  if (fun == NULL) return real(env, fun, arg); /* napi_invalid_arg, untouched */
  open_entry *e = g_find(C_ENVHOOK, H(fun), H(arg));
  if (e && e->slot != NO_SLOT) return real(env, (void *)env_hook_tramp, &g_closures[e->slot]); /* duplicate: Node aborts */
  uint32_t ci = closure_alloc((void (*)(void *))fun, arg);
  napi_status s = ci != NO_SLOT ? real(env, (void *)env_hook_tramp, &g_closures[ci]) : real(env, fun, arg);
  if (s == NAPI_OK) book_acquire(P_ENV_HOOK, H(fun), H(arg), 1, fp, ci, NULL);
  else { FAILED(P_ENV_HOOK); if (ci != NO_SLOT) closure_free(ci); }
  return s;
}
static napi_status w_remove_env_hook(napi_env env, void *fun, void *arg) {
  void **fp = FP();
  thread_ctx *t = tctx();
  t_env_hook real = REAL(F_REMOVE_ENV_HOOK, t_env_hook);
  claim_t c;
  int found = g_claim(C_ENVHOOK, H(fun), H(arg), &c);
  uint32_t ci = found ? c.slot : closure_find(fun, arg);
  napi_status s = ci != NO_SLOT ? real(env, (void *)env_hook_tramp, &g_closures[ci]) : real(env, fun, arg);
  if (s == NAPI_OK) {
    if (ci != NO_SLOT) closure_free(ci);
    book_release(t, found, &c, P_ENV_HOOK, fp);
  } else {
    FAILED(P_ENV_HOOK);
    if (found) unclaim(t, &c, H(fun), H(arg));
  }
  return s;
}

typedef napi_status (*t_add_async_hook)(napi_env, void *, void *, napi_async_cleanup_hook_handle *);
static napi_status w_add_async_hook(napi_env env, void *hook, void *arg, napi_async_cleanup_hook_handle *remove_handle) {
  /* Node creates the handle whether or not the caller asks for it (the hook receives it and
     must remove it), so we always ask, to know its value. */
  napi_async_cleanup_hook_handle h = NULL;
  napi_status s = REAL(F_ADD_ASYNC_HOOK, t_add_async_hook)(env, hook, arg, &h);
  if (s == NAPI_OK && remove_handle) *remove_handle = h;
  ACQUIRE_TAIL(P_ASYNC_HOOK, h, 0, 1)
}
typedef napi_status (*t_remove_async_hook)(napi_async_cleanup_hook_handle);
static napi_status w_remove_async_hook(napi_async_cleanup_hook_handle h) {
  RELEASE_BODY(P_ASYNC_HOOK, h, REAL(F_REMOVE_ASYNC_HOOK, t_remove_async_hook)(h))
}

typedef napi_status (*t_open_scope)(napi_env, void **);
typedef napi_status (*t_close_scope)(napi_env, void *);
/* Handle scopes are the hottest pair (around every few values a native loop creates), so
   they get fast paths for the usual case (this thread has a segment and a counter slot for
   the site, LIFO close, nothing of the class in the global table); anything else takes the
   general path. The booking is the same. */
static inline __attribute__((always_inline)) napi_status scope_open(unsigned pair, napi_status s, void **result, void **fp) {
  if (__builtin_expect(s != NAPI_OK, 0)) { FAILED(pair); return s; }
  thread_ctx *t = tctx();
  site_ref r = resolve(pair, 0, fp, t, NULL);
  uint64_t h = H(*result);
  if (__builtin_expect(r.ctr != NULL, 1)) { /* a counter slot: this thread has a segment */
    uint32_t top = atomic_load_explicit(&t->seg->hs_top, memory_order_relaxed);
    if (__builtin_expect(top < SEG_HS_CAP && atomic_load_explicit(&g_hdr->global_live[pair_class[pair]], memory_order_relaxed) == 0, 1)) {
      hs_entry *e = &t->hs[top];
      e->h = h; e->slot = r.slot;
      _Static_assert(offsetof(hs_entry, pair) == offsetof(hs_entry, site) + 4 && offsetof(hs_entry, flags) == offsetof(hs_entry, site) + 6 &&
                     offsetof(hs_entry, site) % 8 == 0 && sizeof(hs_entry) % 8 == 0, "site|pair|flags word");
      *(u64_alias *)&e->site = (uint64_t)r.site | ((uint64_t)pair << 32); /* flags 0 */
      atomic_store_explicit(&t->seg->hs_top, top + 1, memory_order_release);
      _Atomic uint64_t *p = &r.ctr->acquired;
      atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + 1, memory_order_relaxed);
      return s;
    }
  }
  book_acquire_at_slow(t, r, pair, h, 0, 1, NO_SLOT);
  return s;
}

static __attribute__((noinline)) napi_status scope_close_slow(unsigned pair, napi_status (*real)(napi_env, void *), napi_env env, void *scope, void **fp, thread_ctx *t) {
  claim_t c;
  int found = claim_any(t, pair_class[pair], H(scope), 0, &c);
  napi_status s = real(env, scope);
  if (s == NAPI_OK) book_release(t, found, &c, pair, fp);
  else { FAILED(pair); if (found) unclaim(t, &c, H(scope), 0); }
  return s;
}

static inline __attribute__((always_inline)) napi_status scope_close(unsigned pair, napi_status (*real)(napi_env, void *), napi_env env, void *scope, void **fp) {
  thread_ctx *t = tctx();
  seg_header *seg = t->seg;
  if (__builtin_expect(seg != NULL, 1)) {
    uint32_t top = atomic_load_explicit(&seg->hs_top, memory_order_relaxed);
    if (__builtin_expect(top != 0, 1)) {
      hs_entry *e = &t->hs[top - 1];
      if (__builtin_expect(e->h == H(scope) && e->pair == pair, 1)) { /* LIFO close of the newest scope */
        uint32_t site = e->site, slot = e->slot;
        atomic_store_explicit(&seg->hs_top, top - 1, memory_order_release); /* claimed before the call */
        napi_status s = real(env, scope);
        if (__builtin_expect(s == NAPI_OK, 1)) {
          bump(t, site, slot, K_REL);
          if (g_relsite_mask & (1u << pair)) bump_ref(resolve(pair, 1, fp, t, NULL), K_RELHERE);
        } else {
          FAILED(pair);
          claim_t c = {.local = 1, .site = site, .slot = slot, .tid = t->tid, .pair = (uint16_t)pair, .count = 1};
          unclaim(t, &c, H(scope), 0);
        }
        return s;
      }
    }
  }
  return scope_close_slow(pair, real, env, scope, fp, t);
}

static napi_status w_open_hscope(napi_env env, napi_handle_scope *result) {
  return scope_open(P_HANDLE_SCOPE, REAL(F_OPEN_HSCOPE, t_open_scope)(env, result), result, FP());
}
static napi_status w_close_hscope(napi_env env, napi_handle_scope scope) {
  return scope_close(P_HANDLE_SCOPE, REAL(F_CLOSE_HSCOPE, t_close_scope), env, scope, FP());
}
static napi_status w_open_escope(napi_env env, napi_escapable_handle_scope *result) {
  return scope_open(P_ESC_SCOPE, REAL(F_OPEN_ESCOPE, t_open_scope)(env, result), result, FP());
}
static napi_status w_close_escope(napi_env env, napi_escapable_handle_scope scope) {
  return scope_close(P_ESC_SCOPE, REAL(F_CLOSE_ESCOPE, t_close_scope), env, scope, FP());
}

static const struct { const char *name; int id; void *wrapper; } g_wrappers[] = {
  {"napi_async_init", F_ASYNC_INIT, (void *)w_async_init},
  {"napi_async_destroy", F_ASYNC_DESTROY, (void *)w_async_destroy},
  {"napi_open_callback_scope", F_OPEN_CB_SCOPE, (void *)w_open_cb_scope},
  {"napi_close_callback_scope", F_CLOSE_CB_SCOPE, (void *)w_close_cb_scope},
  {"napi_create_reference", F_CREATE_REF, (void *)w_create_ref},
  {"napi_delete_reference", F_DELETE_REF, (void *)w_delete_ref},
  {"napi_reference_ref", F_REF_REF, (void *)w_ref_ref},
  {"napi_reference_unref", F_REF_UNREF, (void *)w_ref_unref},
  {"napi_wrap", F_WRAP, (void *)w_wrap},
  {"napi_add_finalizer", F_ADD_FINALIZER, (void *)w_add_finalizer},
  {"napi_create_async_work", F_CREATE_WORK, (void *)w_create_work},
  {"napi_delete_async_work", F_DELETE_WORK, (void *)w_delete_work},
  {"napi_create_threadsafe_function", F_CREATE_TSFN, (void *)w_create_tsfn},
  {"napi_acquire_threadsafe_function", F_ACQUIRE_TSFN, (void *)w_acquire_tsfn},
  {"napi_release_threadsafe_function", F_RELEASE_TSFN, (void *)w_release_tsfn},
  {"napi_add_env_cleanup_hook", F_ADD_ENV_HOOK, (void *)w_add_env_hook},
  {"napi_remove_env_cleanup_hook", F_REMOVE_ENV_HOOK, (void *)w_remove_env_hook},
  {"napi_add_async_cleanup_hook", F_ADD_ASYNC_HOOK, (void *)w_add_async_hook},
  {"napi_remove_async_cleanup_hook", F_REMOVE_ASYNC_HOOK, (void *)w_remove_async_hook},
  {"napi_open_handle_scope", F_OPEN_HSCOPE, (void *)w_open_hscope},
  {"napi_close_handle_scope", F_CLOSE_HSCOPE, (void *)w_close_hscope},
  {"napi_open_escapable_handle_scope", F_OPEN_ESCOPE, (void *)w_open_escope},
  {"napi_close_escapable_handle_scope", F_CLOSE_ESCOPE, (void *)w_close_escope},
};

/* ------------------------------------------------------------------------ */
/* File creation                                                             */
/* ------------------------------------------------------------------------ */
static uint32_t pow2_at_least(uint64_t v, uint32_t lo, uint32_t hi) {
  uint32_t r = lo;
  while (r < v && r < hi) r <<= 1;
  return r;
}

static uint64_t env_u64(const char *name, uint64_t dflt) {
  const char *v = getenv(name);
  if (!v || !*v) return dflt;
  char *end = NULL;
  unsigned long long x = strtoull(v, &end, 10);
  return (end && *end == 0 && x > 0) ? x : dflt;
}

static int create_ledger(void) {
  const char *dir = getenv("NAPI_HEAPDIFF_NATIVE_DIR");
  if (!dir || !*dir) return -1;
  uint32_t site_cap = pow2_at_least(env_u64("NAPI_HEAPDIFF_NATIVE_SITES", 4096), 256, 1u << 20);
  uint32_t open_cap = pow2_at_least(env_u64("NAPI_HEAPDIFF_NATIVE_OPEN", 1u << 18), 1024, 1u << 24);
  uint64_t seg_cap = env_u64("NAPI_HEAPDIFF_NATIVE_THREADS", 256);
  if (seg_cap > 65536) seg_cap = 65536;
  uint32_t obj_cap = OBJ_CAP, str_cap = 512 * 1024, name_cap = NAME_CAP;
  uint64_t seg_body = sizeof(seg_header) + SEG_CTR_CAP * sizeof(seg_ctr) + SEG_OPEN_CAP * 4 + SEG_OPEN_CAP * sizeof(open_entry) +
                      SEG_HS_CAP * sizeof(hs_entry) + SEG_RECENT * sizeof(open_entry);
  uint64_t seg_size = (seg_body + 4095) & ~4095ull;
  uint64_t off = sizeof(ledger_header);
  uint64_t site_off = off; off += (uint64_t)site_cap * sizeof(site_entry);
  uint64_t obj_off = off; off += (uint64_t)obj_cap * sizeof(obj_entry);
  uint64_t str_off = off; off += str_cap;
  off = (off + 63) & ~63ull;
  uint64_t name_off = off; off += (uint64_t)name_cap * sizeof(name_entry);
  off = (off + 63) & ~63ull;
  uint64_t tags_off = off; off += (uint64_t)open_cap * 4;
  off = (off + 63) & ~63ull;
  uint64_t open_off = off; off += (uint64_t)open_cap * sizeof(open_entry);
  off = (off + 63) & ~63ull;
  uint64_t dir_off = off; off += seg_cap * 8;
  uint64_t size = (off + 4095) & ~4095ull;
  if (size + seg_cap * seg_size > UINT32_MAX) return -1;

  char path[PATH_MAX], tmp[PATH_MAX];
  int pid = (int)getpid();
  if (snprintf(path, sizeof path, "%s/native-%d.bin", dir, pid) >= (int)sizeof path) return -1;
  if (snprintf(tmp, sizeof tmp, "%s/.native-%d.bin.tmp", dir, pid) >= (int)sizeof tmp) return -1;
  mkdir(dir, 0777); /* one level; EEXIST is fine */
  int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  if (ftruncate(fd, (off_t)size) != 0) { close(fd); unlink(tmp); return -1; }
  void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) { close(fd); unlink(tmp); return -1; }
  ledger_header *h = (ledger_header *)m;
  h->version = LEDGER_VERSION;
  h->header_size = sizeof(ledger_header);
  h->pid = (uint32_t)pid;
  h->max_depth = (uint32_t)g_depth;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  h->start_unix_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
  atomic_store(&h->file_size, size);
  h->site_off = (uint32_t)site_off; h->site_cap = site_cap; h->site_entry_size = sizeof(site_entry);
  h->obj_off = (uint32_t)obj_off; h->obj_cap = obj_cap; h->obj_entry_size = sizeof(obj_entry);
  h->str_off = (uint32_t)str_off; h->str_cap = str_cap;
  atomic_store(&h->str_used, 1); /* offset 0 = empty string */
  h->flags = (g_release_sites ? 1u : 0) | (g_verify ? 2u : 0) | (g_release_sites == 2 ? 4u : 0) | (g_async_names ? 8u : 0) |
             (g_scopes ? 0 : 16u);
  h->name_off = (uint32_t)name_off; h->name_cap = name_cap; h->name_entry_size = sizeof(name_entry);
  h->name_buf = NAME_BUF;
  h->open_tags_off = (uint32_t)tags_off; h->open_off = (uint32_t)open_off; h->open_cap = open_cap;
  h->open_entry_size = sizeof(open_entry); h->open_group = OPEN_GROUP; h->open_window = OPEN_WINDOW;
  h->seg_dir_off = (uint32_t)dir_off; h->seg_cap = (uint32_t)seg_cap; h->seg_size = (uint32_t)seg_size;
  h->seg_ctr_cap = SEG_CTR_CAP; h->seg_open_cap = SEG_OPEN_CAP; h->seg_ctr_entry_size = sizeof(seg_ctr);
  h->seg_open_group = OPEN_GROUP;
  g_sites = (site_entry *)((char *)m + site_off);
  g_fobjs = (obj_entry *)((char *)m + obj_off);
  g_strs = (char *)m + str_off;
  g_names = (name_entry *)((char *)m + name_off);
  g_tags = (_Atomic uint32_t *)((char *)m + tags_off);
  g_open = (open_entry *)((char *)m + open_off);
  g_seg_dir = (uint64_t *)((char *)m + dir_off);
  g_site_mask = site_cap - 1;
  g_open_groups_mask = open_cap / OPEN_GROUP - 1;
  memcpy(h->magic, LEDGER_MAGIC, 8);
  if (rename(tmp, path) != 0) { munmap(m, size); close(fd); unlink(tmp); return -1; }
  g_fd = fd; /* kept (O_CLOEXEC) to append thread segments */
  g_hdr = h;
  obj_lock();
  uint32_t n = atomic_load(&g_nobjs);
  for (uint32_t i = 0; i < n; i++) publish_object(i, g_obj_paths[i], g_obj_bid[i] + 1, g_obj_bid[i][0]);
  obj_unlock();
  return 0;
}

static int ensure_ledger(void) {
  int st = atomic_load_explicit(&g_state, memory_order_acquire);
  if (st == 2) return 1;
  if (st == 3) return 0;
  int expect = 0;
  if (atomic_compare_exchange_strong(&g_state, &expect, 1)) {
    int saved_errno = errno;
    configure();
    int ok = create_ledger() == 0;
    errno = saved_errno;
    atomic_store_explicit(&g_state, ok ? 2 : 3, memory_order_release);
    return ok;
  }
  unsigned spins = 0;
  while ((st = atomic_load_explicit(&g_state, memory_order_acquire)) == 1) cpu_relax(&spins);
  return st == 2;
}

/* ------------------------------------------------------------------------ */
/* rtld-audit interface                                                      */
/* ------------------------------------------------------------------------ */
unsigned int la_version(unsigned int version) {
  (void)version;
  return LAV_CURRENT;
}

/* cookie: 0 for objects we do not bind from; index + 1 of our object record for addons */
unsigned int la_objopen(struct link_map *map, Lmid_t lmid, uintptr_t *cookie) {
  *cookie = 0;
  if (lmid != LM_ID_BASE) return 0;
  const char *dir = getenv("NAPI_HEAPDIFF_NATIVE_DIR");
  if (!dir || !*dir) return 0; /* inert */
  int saved_errno = errno;
  configure();
  if (!is_addon_path(map->l_name)) { errno = saved_errno; return LA_FLG_BINDTO; }
  obj_lock();
  const uint8_t *ehdr = (const uint8_t *)map->l_addr;
  if (!ehdr || memcmp(ehdr, ELFMAG, SELFMAG) != 0) {
    Dl_info info;
    ehdr = (dladdr((void *)map->l_ld, &info) && info.dli_fbase) ? (const uint8_t *)info.dli_fbase : NULL;
  }
  uint32_t idx = add_object((uintptr_t)map, map->l_name, ehdr, map->l_addr, OF_ADDON);
  obj_unlock();
  if (idx != NO_OBJ) *cookie = (uintptr_t)idx + 1;
  errno = saved_errno;
  return LA_FLG_BINDFROM | LA_FLG_BINDTO;
}

unsigned int la_objclose(uintptr_t *cookie) {
  if (*cookie == 0) return 0;
  uint32_t idx = (uint32_t)(*cookie - 1);
  if (idx < OBJ_CAP) {
    obj_lock();
    atomic_store(&g_objs[idx].closed, 1);
    if (g_hdr) {
      if (idx < g_hdr->obj_cap) g_fobjs[idx].flags |= OF_CLOSED;
      atomic_fetch_add(&g_hdr->objects_closed, 1);
    }
    atomic_fetch_add(&g_epoch, 1);
    obj_unlock();
  }
  return 0;
}

/* Index in g_wrappers of a tracked napi_* name, or -1. */
static int wrapper_index(const char *symname) {
  if (symname[0] != 'n' || strncmp(symname, "napi_", 5) != 0) return -1;
  for (size_t i = 0; i < sizeof g_wrappers / sizeof g_wrappers[0]; i++)
    if (strcmp(symname, g_wrappers[i].name) == 0) {
      int id = g_wrappers[i].id;
      if (!g_scopes && (id == F_OPEN_HSCOPE || id == F_CLOSE_HSCOPE || id == F_OPEN_ESCOPE || id == F_CLOSE_ESCOPE)) return -1;
      return (int)i;
    }
  return -1;
}

/* Returns the address an addon should call for tracked function i whose original
   definition is orig: the wrapper, or orig when it cannot be wrapped. */
static uintptr_t wrap_binding(int i, uintptr_t orig) {
  if (!ensure_ledger()) return orig;
  void *expect = NULL;
  if (!atomic_compare_exchange_strong(&g_real[g_wrappers[i].id], &expect, (void *)orig) && expect != (void *)orig) {
    atomic_fetch_add(&g_hdr->foreign_bindings, 1);
    return orig;
  }
  atomic_fetch_add(&g_hdr->wrapped_bindings, 1);
  return (uintptr_t)g_wrappers[i].wrapper;
}

/* Code compiled without a PLT (-fno-plt, and Rust's default: napi-rs addons) calls
   through GOT entries filled by R_X86_64_GLOB_DAT relocations, and function pointers in
   data use R_X86_64_64: glibc reports neither to la_symbind64. Those entries that hold
   a tracked napi_* function are pointed at the wrapper once the addon is fully
   relocated and protected. The first moment the audit interface offers for that is
   the first la_symbind64 that happens after relocation: Node's dlsym() of the addon's
   init symbol (napi_register_module_v1 / node_api_module_get_api_version_v1 /
   node_register_module_v*), before it calls it, or the addon's first lazily bound PLT
   call. (LA_ACT_CONSISTENT comes before relocation; a BIND_NOW symbind comes during
   it, with RELRO still being written: neither is used.) */
static void patch_got(obj_t *o) {
  struct link_map *lm = (struct link_map *)o->map;
  if (!lm || !lm->l_ld) return;
  uintptr_t base = lm->l_addr, symtab = 0, strtab = 0, rela = 0, relasz = 0, relaent = sizeof(ElfW(Rela));
  for (ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++) {
    uintptr_t v = d->d_un.d_ptr;
    switch (d->d_tag) {
      case DT_SYMTAB: symtab = v; break;
      case DT_STRTAB: strtab = v; break;
      case DT_RELA: rela = v; break;
      case DT_RELASZ: relasz = v; break;
      case DT_RELAENT: relaent = v; break;
      default: break;
    }
  }
  /* ld.so rewrites these to absolute addresses in place; be robust if it did not */
  if (symtab && symtab < base) symtab += base;
  if (strtab && strtab < base) strtab += base;
  if (rela && rela < base) rela += base;
  if (!symtab || !strtab || !rela || !relasz || relaent < sizeof(ElfW(Rela))) return;
  long page = sysconf(_SC_PAGESIZE);
  for (uintptr_t p = rela; p + sizeof(ElfW(Rela)) <= rela + relasz; p += relaent) {
    const ElfW(Rela) *r = (const ElfW(Rela) *)p;
    unsigned type = (unsigned)ELF64_R_TYPE(r->r_info);
    if (type != R_X86_64_GLOB_DAT && type != R_X86_64_64) continue;
    const ElfW(Sym) *sym = (const ElfW(Sym) *)symtab + ELF64_R_SYM(r->r_info);
    int i = wrapper_index((const char *)strtab + sym->st_name);
    if (i < 0) continue;
    uintptr_t *slot = (uintptr_t *)(base + r->r_offset);
    uintptr_t cur = *slot;
    if (cur == 0 || cur == (uintptr_t)g_wrappers[i].wrapper || r->r_addend != 0) continue;
    uintptr_t want = wrap_binding(i, cur);
    if (want == cur) continue;
    int ro = (uintptr_t)slot >= o->relro_lo && (uintptr_t)slot < o->relro_hi;
    uintptr_t pg = (uintptr_t)slot & ~(uintptr_t)(page - 1);
    if (ro && mprotect((void *)pg, (size_t)page, PROT_READ | PROT_WRITE) != 0) continue;
    __atomic_store_n(slot, want, __ATOMIC_RELEASE);
    if (ro) mprotect((void *)pg, (size_t)page, PROT_READ);
  }
}

static void maybe_patch(uintptr_t cookie) {
  if (cookie == 0 || cookie > OBJ_CAP) return;
  obj_t *o = &g_objs[cookie - 1];
  if (__atomic_load_n(&o->got_patched, __ATOMIC_ACQUIRE)) return;
  if (!(o->flags & OF_ADDON) || !ensure_ledger()) return; /* before obj_lock: creating the ledger takes it */
  obj_lock();
  if (!o->got_patched && !atomic_load(&o->closed)) {
    int saved_errno = errno;
    patch_got(o);
    errno = saved_errno;
  }
  __atomic_store_n(&o->got_patched, 1, __ATOMIC_RELEASE);
  obj_unlock();
}

uintptr_t la_symbind64(Elf64_Sym *sym, unsigned int ndx, uintptr_t *refcook, uintptr_t *defcook,
                       unsigned int *flags, const char *symname) {
  (void)ndx;
  if (*flags & LA_SYMB_DLSYM) maybe_patch(*defcook);   /* dlsym into an addon: it is relocated */
  else if (!(*flags & LA_SYMB_NOPLTENTER)) maybe_patch(*refcook); /* lazy PLT fix-up at run time */
  if (*refcook == 0) return sym->st_value;
  int i = wrapper_index(symname);
  if (i < 0) return sym->st_value;
  return wrap_binding(i, sym->st_value);
}
