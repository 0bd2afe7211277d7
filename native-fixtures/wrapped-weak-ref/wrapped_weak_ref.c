// Scenario: a weak napi_ref per wrapped object, never deleted (native memory
// only).
//
// napi_wrap with a non-NULL `result` hands the addon a reference (refcount 0,
// weak) that only napi_delete_reference frees. The wrapped objects here are
// dropped by JS at once; the garbage collector collects them and runs the
// finalizer, which frees the addon's own struct. In the leak twin nobody
// deletes the reference: Node keeps its C++ Reference object (about 80
// bytes) forever, while nothing at all remains in the JS heap, and no async
// context is involved. Only native memory (RSS) grows. The ok twin deletes
// the reference in the finalizer, as node-addon-api's ObjectWrap does.
#include <stdatomic.h>
#include "common.h"

typedef struct {
  napi_ref wrapper;  // the reference napi_wrap returned
  bool delete_ref;   // ok twin: delete it when the object is collected
  double payload[2];
} Wrapped;

static atomic_llong references_open = 0;

static void Finalize(napi_env env, void* data, void* hint) {
  Wrapped* wrapped = (Wrapped*)data;
  if (wrapped->delete_ref) {
    NODE_API_FATAL_CALL(env, napi_delete_reference(env, wrapped->wrapper));
    atomic_fetch_sub(&references_open, 1);
  }
  // BUG (leak twin, deliberate): wrapped->wrapper is never deleted. The
  // struct that held the only copy of it is freed here.
  free(wrapped);
}

static napi_value WrapMany(napi_env env, napi_callback_info info,
                           bool delete_ref) {
  napi_value argv[1];
  NODE_API_GET_ARGS(env, info, 1, argv);
  int32_t count = 0;
  NODE_API_CALL(env, napi_get_value_int32(env, argv[0], &count));
  for (int32_t k = 0; k < count; k++) {
    napi_handle_scope scope;
    NODE_API_CALL(env, napi_open_handle_scope(env, &scope));
    napi_value object;
    NODE_API_CALL(env, napi_create_object(env, &object));
    Wrapped* wrapped = (Wrapped*)calloc(1, sizeof(Wrapped));
    NODE_API_ASSERT(env, wrapped != NULL, "out of memory");
    wrapped->delete_ref = delete_ref;
    NODE_API_CALL(env, napi_wrap(env, object, wrapped, Finalize, NULL,
                                 &wrapped->wrapper));
    atomic_fetch_add(&references_open, 1);
    NODE_API_CALL(env, napi_close_handle_scope(env, scope));
  }
  return fixture_undefined(env);
}

// leak(n): wraps n new objects and drops them; their references leak.
static napi_value Leak(napi_env env, napi_callback_info info) {
  return WrapMany(env, info, false);
}

// ok(n): the same, deleting each reference in the finalizer.
static napi_value Ok(napi_env env, napi_callback_info info) {
  return WrapMany(env, info, true);
}

// nativeOpenReferences(): references napi_wrap returned and nobody deleted.
static napi_value NativeOpenReferences(napi_env env, napi_callback_info info) {
  napi_value result;
  NODE_API_CALL(env, napi_create_double(
                         env, (double)atomic_load(&references_open), &result));
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor descriptors[] = {
      DECLARE_NODE_API_PROPERTY("leak", Leak),
      DECLARE_NODE_API_PROPERTY("ok", Ok),
      DECLARE_NODE_API_PROPERTY("nativeOpenReferences", NativeOpenReferences),
  };
  NODE_API_EXPORT_PROPERTIES(env, exports, descriptors);
  return exports;
}
