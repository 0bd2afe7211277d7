// Scenario: napi_async_init with a caller-provided JS resource, never
// destroyed.
//
// On Node <= 24 the AsyncContext holds the provided resource only *weakly*,
// so once JS drops it the object is collected and the leaked context leaves
// no heap trace on Node 20 (only the Node 22+ context-frame global). The
// weak callback does not emit destroy, so async_hooks keeps an init without
// destroy forever. Node 26 (PR #59828) holds the resource strongly, so the
// resource object itself leaks there.
#include "common.h"

#define LEAK_NAME "fixture_js_resource_leak"
#define OK_NAME "fixture_js_resource_ok"

static napi_value InitWithResource(napi_env env, napi_callback_info info,
                                   const char* name, bool destroy) {
  napi_value argv[1];
  NODE_API_GET_ARGS(env, info, 1, argv);
  napi_valuetype type;
  NODE_API_CALL(env, napi_typeof(env, argv[0], &type));
  NODE_API_ASSERT(env, type == napi_object, "resource must be an object");

  napi_value resource_name;
  NODE_API_CALL(env, napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH,
                                             &resource_name));
  napi_async_context context;
  NODE_API_CALL(env, napi_async_init(env, argv[0], resource_name, &context));
  if (destroy) {
    NODE_API_CALL(env, napi_async_destroy(env, context));
  }
  // else BUG (deliberate): the context is dropped without napi_async_destroy.
  return fixture_undefined(env);
}

// leak(resource)
static napi_value Leak(napi_env env, napi_callback_info info) {
  return InitWithResource(env, info, LEAK_NAME, false);
}

// ok(resource)
static napi_value Ok(napi_env env, napi_callback_info info) {
  return InitWithResource(env, info, OK_NAME, true);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor descriptors[] = {
      DECLARE_NODE_API_PROPERTY("leak", Leak),
      DECLARE_NODE_API_PROPERTY("ok", Ok),
  };
  NODE_API_EXPORT_PROPERTIES(env, exports, descriptors);
  return exports;
}
