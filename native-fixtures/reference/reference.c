// Scenario: a strong napi_ref that is never deleted.
//
// napi_create_reference with refcount 1 keeps its target alive through a
// strong v8::Global. Without napi_delete_reference the target (here a JS
// closure, together with its context) is retained forever: the heap shows
// `(Global handles) -internal-> closure` per call. No async_hooks events.
#include "common.h"

static napi_value CreateReference(napi_env env, napi_callback_info info,
                                  bool release) {
  napi_value argv[1];
  NODE_API_GET_ARGS(env, info, 1, argv);
  napi_valuetype type;
  NODE_API_CALL(env, napi_typeof(env, argv[0], &type));
  NODE_API_ASSERT(env, type == napi_function, "argument must be a function");

  napi_ref ref;
  NODE_API_CALL(env, napi_create_reference(env, argv[0], 1, &ref));
  if (release) {
    NODE_API_CALL(env, napi_delete_reference(env, ref));
  }
  // else BUG (deliberate): `ref` goes out of scope with refcount 1.
  return fixture_undefined(env);
}

// leak(fn): keeps fn alive forever.
static napi_value Leak(napi_env env, napi_callback_info info) {
  return CreateReference(env, info, false);
}

// ok(fn): creates and deletes the reference.
static napi_value Ok(napi_env env, napi_callback_info info) {
  return CreateReference(env, info, true);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor descriptors[] = {
      DECLARE_NODE_API_PROPERTY("leak", Leak),
      DECLARE_NODE_API_PROPERTY("ok", Ok),
  };
  NODE_API_EXPORT_PROPERTIES(env, exports, descriptors);
  return exports;
}
