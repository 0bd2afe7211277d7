// Scenario: three unrelated leaks at the same rate, one call each.
//
// - napi_async_init with a NULL resource, never destroyed;
// - napi_async_init with the caller's JS object as resource, never destroyed;
// - a strong napi_ref (refcount 1) to a JS function, never deleted.
// All three grow by one per call. Nothing here is a threadsafe function, an
// async work item or an env cleanup hook: a kind that says so rests on a
// coincidence of rates, not on evidence tied to the group. The ok twin
// releases each one.
#include "common.h"

#define NULL_NAME "fixture_coincident_null"
#define OBJECT_NAME "fixture_coincident_object"
#define NULL_OK_NAME "fixture_coincident_null_ok"
#define OBJECT_OK_NAME "fixture_coincident_object_ok"

static napi_status init_named(napi_env env, napi_value resource,
                              const char* name, napi_async_context* result) {
  napi_value resource_name;
  napi_status status = napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH,
                                               &resource_name);
  if (status != napi_ok) return status;
  return napi_async_init(env, resource, resource_name, result);
}

// call(resource, fn, release): one operation of each kind.
static napi_value Call(napi_env env, napi_callback_info info, bool release) {
  napi_value argv[2];
  NODE_API_GET_ARGS(env, info, 2, argv);
  napi_valuetype type;
  NODE_API_CALL(env, napi_typeof(env, argv[0], &type));
  NODE_API_ASSERT(env, type == napi_object, "resource must be an object");
  NODE_API_CALL(env, napi_typeof(env, argv[1], &type));
  NODE_API_ASSERT(env, type == napi_function, "callback must be a function");

  napi_async_context plain;
  napi_async_context with_object;
  napi_ref callback;
  NODE_API_CALL(env, init_named(env, NULL, release ? NULL_OK_NAME : NULL_NAME, &plain));
  NODE_API_CALL(env, init_named(env, argv[0], release ? OBJECT_OK_NAME : OBJECT_NAME, &with_object));
  NODE_API_CALL(env, napi_create_reference(env, argv[1], 1, &callback));
  if (release) {
    NODE_API_CALL(env, napi_async_destroy(env, plain));
    NODE_API_CALL(env, napi_async_destroy(env, with_object));
    NODE_API_CALL(env, napi_delete_reference(env, callback));
  }
  // else BUG (deliberate): all three handles go out of scope unreleased.
  return fixture_undefined(env);
}

static napi_value Leak(napi_env env, napi_callback_info info) {
  return Call(env, info, false);
}

static napi_value Ok(napi_env env, napi_callback_info info) {
  return Call(env, info, true);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor descriptors[] = {
      DECLARE_NODE_API_PROPERTY("leak", Leak),
      DECLARE_NODE_API_PROPERTY("ok", Ok),
  };
  NODE_API_EXPORT_PROPERTIES(env, exports, descriptors);
  return exports;
}
