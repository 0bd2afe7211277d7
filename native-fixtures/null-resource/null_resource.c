// Scenario: napi_async_init with a NULL resource, never destroyed.
//
// With a NULL resource Node creates a fresh empty Object as the async
// resource and holds it through a *strong* v8::Global for as long as the
// AsyncContext lives. Forgetting napi_async_destroy therefore leaks one
// `(Global handles) -internal-> Object{}` per call (plus, on Node 22+, a
// global to the context frame), and async_hooks sees an init that is never
// followed by destroy.
#include "common.h"

#define LEAK_NAME "fixture_null_resource_leak"
#define OK_NAME "fixture_null_resource_ok"

static napi_status async_init_named(napi_env env, const char* name,
                                    napi_async_context* result) {
  napi_value resource_name;
  napi_status status = napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH,
                                               &resource_name);
  if (status != napi_ok) return status;
  return napi_async_init(env, NULL, resource_name, result);
}

// leak(): opens a context for "some operation" and forgets about it.
static napi_value Leak(napi_env env, napi_callback_info info) {
  napi_async_context context;
  NODE_API_CALL(env, async_init_named(env, LEAK_NAME, &context));
  // BUG (deliberate): no napi_async_destroy(env, context). The pointer is
  // dropped here, so nothing can ever destroy it.
  return fixture_undefined(env);
}

// ok(): the correct pairing.
static napi_value Ok(napi_env env, napi_callback_info info) {
  napi_async_context context;
  NODE_API_CALL(env, async_init_named(env, OK_NAME, &context));
  NODE_API_CALL(env, napi_async_destroy(env, context));
  return fixture_undefined(env);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor descriptors[] = {
      DECLARE_NODE_API_PROPERTY("leak", Leak),
      DECLARE_NODE_API_PROPERTY("ok", Ok),
  };
  NODE_API_EXPORT_PROPERTIES(env, exports, descriptors);
  return exports;
}
