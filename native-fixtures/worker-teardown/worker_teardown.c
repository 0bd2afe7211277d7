// Scenario: async contexts and references still open when a Worker's
// environment is torn down.
//
// Node-API does not track napi_async_context at all, and a userland napi_ref
// is only unlinked (never freed) at env teardown. So an addon that relies on
// JS calling close() leaks every context/ref of a worker that ends, or is
// terminate()d, without it: no async_hooks destroy is ever emitted and the
// native AsyncContext objects are never freed. The fix is an env cleanup
// hook (napi_add_env_cleanup_hook) that releases whatever is still open;
// cleanup hooks run when a Worker exits (not on process.exit()).
//
// Built twice from this file (see binding.gyp):
//   FIXTURE_OK_TWIN=0 -> worker_teardown_leak.node: no cleanup hook (BUG)
//   FIXTURE_OK_TWIN=1 -> worker_teardown_ok.node: cleanup hook releases all
//
// The addon is loaded by many environments (the main thread and every
// Worker, each on its own thread), so per-env state lives in instance data
// and the process-wide counters are atomics.
#include <stdatomic.h>
#include "common.h"

#ifndef FIXTURE_OK_TWIN
#error "FIXTURE_OK_TWIN must be defined to 0 or 1 (see binding.gyp)"
#endif

#if FIXTURE_OK_TWIN
#define CONTEXT_NAME "fixture_worker_teardown_ok"
#else
#define CONTEXT_NAME "fixture_worker_teardown_leak"
#endif

#define CONTEXTS_PER_OPEN 2
#define MAX_OPEN 64

typedef struct {
  napi_env env;
  napi_async_context contexts[MAX_OPEN];
  size_t context_count;
  napi_ref refs[MAX_OPEN];
  size_t ref_count;
} EnvState;

// Process-wide: contexts/refs opened and not yet destroyed/deleted, summed
// over all environments (threads) that loaded this addon.
static atomic_int open_contexts = 0;
static atomic_int open_refs = 0;

static EnvState* get_state(napi_env env) {
  void* data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return (EnvState*)data;
}

// Releases everything this env still holds. Safe to call repeatedly.
static void release_all(napi_env env, EnvState* state) {
  while (state->context_count > 0) {
    napi_async_context context = state->contexts[--state->context_count];
    napi_async_destroy(env, context);
    atomic_fetch_sub(&open_contexts, 1);
  }
  while (state->ref_count > 0) {
    napi_ref ref = state->refs[--state->ref_count];
    napi_delete_reference(env, ref);
    atomic_fetch_sub(&open_refs, 1);
  }
}

// open(object): opens CONTEXTS_PER_OPEN async contexts and one strong
// reference (refcount 1) to `object`, all owned by the calling env until
// close().
static napi_value Open(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  NODE_API_GET_ARGS(env, info, 1, argv);
  EnvState* state = get_state(env);
  NODE_API_ASSERT(env, state != NULL, "instance data missing");
  NODE_API_ASSERT(env,
                  state->context_count + CONTEXTS_PER_OPEN <= MAX_OPEN &&
                      state->ref_count + 1 <= MAX_OPEN,
                  "too many open contexts/references in this env");

  napi_value resource_name;
  NODE_API_CALL(env, napi_create_string_utf8(env, CONTEXT_NAME,
                                             NAPI_AUTO_LENGTH,
                                             &resource_name));
  for (int k = 0; k < CONTEXTS_PER_OPEN; k++) {
    napi_async_context context;
    NODE_API_CALL(env, napi_async_init(env, NULL, resource_name, &context));
    state->contexts[state->context_count++] = context;
    atomic_fetch_add(&open_contexts, 1);
  }
  napi_ref ref;
  NODE_API_CALL(env, napi_create_reference(env, argv[0], 1, &ref));
  state->refs[state->ref_count++] = ref;
  atomic_fetch_add(&open_refs, 1);
  return fixture_undefined(env);
}

// close(): releases everything the calling env opened.
static napi_value Close(napi_env env, napi_callback_info info) {
  EnvState* state = get_state(env);
  NODE_API_ASSERT(env, state != NULL, "instance data missing");
  release_all(env, state);
  return fixture_undefined(env);
}

static napi_value NativeOpenContexts(napi_env env, napi_callback_info info) {
  napi_value result;
  NODE_API_CALL(env,
                napi_create_int32(env, atomic_load(&open_contexts), &result));
  return result;
}

static napi_value NativeOpenReferences(napi_env env,
                                       napi_callback_info info) {
  napi_value result;
  NODE_API_CALL(env, napi_create_int32(env, atomic_load(&open_refs), &result));
  return result;
}

#if FIXTURE_OK_TWIN
// Runs at env teardown (Worker exit or terminate(), natural process exit),
// before the napi_env itself goes away: the safety net for a close() that
// never happened.
static void CleanupHook(void* arg) {
  EnvState* state = (EnvState*)arg;
  release_all(state->env, state);
}
#endif

// Instance-data finalizer (runs when the napi_env is deleted, after the
// cleanup hooks). It frees only our bookkeeping.
static void FinalizeState(napi_env env, void* data, void* hint) {
  // In the leak twin any contexts/refs still listed here are simply
  // abandoned (BUG, deliberate): nobody destroys them.
  free(data);
}

NAPI_MODULE_INIT() {
  EnvState* state = (EnvState*)calloc(1, sizeof(EnvState));
  NODE_API_ASSERT(env, state != NULL, "out of memory");
  state->env = env;
  NODE_API_CALL_OR_CLEANUP(
      env, napi_set_instance_data(env, state, FinalizeState, NULL),
      free(state));
#if FIXTURE_OK_TWIN
  NODE_API_CALL(env, napi_add_env_cleanup_hook(env, CleanupHook, state));
#endif
  // (leak twin) BUG (deliberate): no env cleanup hook.

  napi_value context_name;
  NODE_API_CALL(env, napi_create_string_utf8(env, CONTEXT_NAME,
                                             NAPI_AUTO_LENGTH, &context_name));
  napi_property_descriptor descriptors[] = {
      DECLARE_NODE_API_PROPERTY("open", Open),
      DECLARE_NODE_API_PROPERTY("close", Close),
      DECLARE_NODE_API_PROPERTY("nativeOpenContexts", NativeOpenContexts),
      DECLARE_NODE_API_PROPERTY("nativeOpenReferences", NativeOpenReferences),
      DECLARE_NODE_API_PROPERTY_VALUE("CONTEXT_NAME", context_name),
  };
  NODE_API_EXPORT_PROPERTIES(env, exports, descriptors);
  return exports;
}
