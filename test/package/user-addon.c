// An addon as a user writes one: each call opens an async context for its
// operation; leak() forgets to destroy it, ok() does not.
#include <node_api.h>

static napi_value open_context(napi_env env, int destroy) {
  napi_value name;
  napi_async_context context;
  napi_create_string_utf8(env, "my_addon_operation", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &context);
  if (destroy) napi_async_destroy(env, context);
  return NULL;
}

static napi_value Leak(napi_env env, napi_callback_info info) { return open_context(env, 0); }
static napi_value Ok(napi_env env, napi_callback_info info) { return open_context(env, 1); }

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "leak", NAPI_AUTO_LENGTH, Leak, NULL, &fn);
  napi_set_named_property(env, exports, "leak", fn);
  napi_create_function(env, "ok", NAPI_AUTO_LENGTH, Ok, NULL, &fn);
  napi_set_named_property(env, exports, "ok", fn);
  return exports;
}
