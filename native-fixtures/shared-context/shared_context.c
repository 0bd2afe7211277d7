// Scenario: several concurrent operations share one async-context slot.
//
// The addon keeps a single static napi_async_context for "the current
// operation". Starting a second operation before the first completes
// overwrites the slot, orphaning the previous context; completion then
// destroys whatever is in the slot once and clears it. With 3 overlapping
// operations that is 3 inits, 1 destroy and 2 leaked contexts per batch.
#include "common.h"

#define LEAK_NAME "fixture_shared_context_leak"
#define OK_NAME "fixture_shared_context_ok"
#define MAX_OPS 16

static napi_status async_init_named(napi_env env, const char* name,
                                    napi_async_context* result) {
  napi_value resource_name;
  napi_status status = napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH,
                                               &resource_name);
  if (status != napi_ok) return status;
  return napi_async_init(env, NULL, resource_name, result);
}

// ---- leak twin: one slot for everybody ------------------------------------

// BUG (deliberate): process-wide slot shared by all in-flight operations.
static napi_async_context shared_slot = NULL;

// leakStart(): begin an operation; overwrites (and so orphans) any context
// still in the slot.
static napi_value LeakStart(napi_env env, napi_callback_info info) {
  NODE_API_CALL(env, async_init_named(env, LEAK_NAME, &shared_slot));
  return fixture_undefined(env);
}

// leakComplete(): finish an operation; destroys the slot if set. Only the
// first completion after a batch of starts finds something to destroy.
static napi_value LeakComplete(napi_env env, napi_callback_info info) {
  if (shared_slot != NULL) {
    napi_async_context context = shared_slot;
    shared_slot = NULL;
    NODE_API_CALL(env, napi_async_destroy(env, context));
  }
  return fixture_undefined(env);
}

// ---- ok twin: one context per operation -----------------------------------

static napi_async_context ok_slots[MAX_OPS];

// okStart(): returns an operation id that owns its own context.
static napi_value OkStart(napi_env env, napi_callback_info info) {
  int32_t id = -1;
  for (int32_t k = 0; k < MAX_OPS; k++) {
    if (ok_slots[k] == NULL) {
      id = k;
      break;
    }
  }
  NODE_API_ASSERT(env, id >= 0, "too many operations in flight");
  NODE_API_CALL(env, async_init_named(env, OK_NAME, &ok_slots[id]));
  napi_value result;
  NODE_API_CALL(env, napi_create_int32(env, id, &result));
  return result;
}

// okComplete(id): destroys exactly that operation's context.
static napi_value OkComplete(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  NODE_API_GET_ARGS(env, info, 1, argv);
  int32_t id = -1;
  NODE_API_CALL(env, napi_get_value_int32(env, argv[0], &id));
  NODE_API_ASSERT(env, id >= 0 && id < MAX_OPS && ok_slots[id] != NULL,
                  "unknown operation id");
  napi_async_context context = ok_slots[id];
  ok_slots[id] = NULL;
  NODE_API_CALL(env, napi_async_destroy(env, context));
  return fixture_undefined(env);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor descriptors[] = {
      DECLARE_NODE_API_PROPERTY("leakStart", LeakStart),
      DECLARE_NODE_API_PROPERTY("leakComplete", LeakComplete),
      DECLARE_NODE_API_PROPERTY("okStart", OkStart),
      DECLARE_NODE_API_PROPERTY("okComplete", OkComplete),
  };
  NODE_API_EXPORT_PROPERTIES(env, exports, descriptors);
  return exports;
}
