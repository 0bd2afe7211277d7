// Scenario: an early return on an error path skips napi_async_destroy.
//
// The happy path is balanced; only when the middle step throws does the
// function bail out before cleanup. That is the classic shape of this leak in
// real addons (an early `return NULL` after a failed call, often hidden in a
// NODE_API_CALL-style macro), so the leak rate is the error rate.
#include "common.h"

#define LEAK_NAME "fixture_error_path_leak"
#define OK_NAME "fixture_error_path_ok"

// The "work" between init and destroy. It fails (with a pending JS
// exception) when asked to.
static napi_status do_step(napi_env env, bool fail) {
  if (fail) {
    napi_throw_error(env, "ERR_FIXTURE_STEP_FAILED",
                     "fixture error-path: step failed on request");
    return napi_pending_exception;
  }
  return napi_ok;
}

static napi_value Run(napi_env env, napi_callback_info info, const char* name,
                      bool destroy_on_error) {
  napi_value argv[1];
  NODE_API_GET_ARGS(env, info, 1, argv);
  bool fail = false;
  NODE_API_CALL(env, napi_get_value_bool(env, argv[0], &fail));

  napi_value resource_name;
  NODE_API_CALL(env, napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH,
                                             &resource_name));
  napi_async_context context;
  NODE_API_CALL(env, napi_async_init(env, NULL, resource_name, &context));

  if (do_step(env, fail) != napi_ok) {
    if (destroy_on_error) {
      // Correct: release the context before propagating the exception.
      // (napi_async_destroy is fine to call with an exception pending.)
      NODE_API_CALL(env, napi_async_destroy(env, context));
    }
    // else BUG (deliberate): return with the exception pending and the
    // context still open.
    return NULL;
  }

  NODE_API_CALL(env, napi_async_destroy(env, context));
  return fixture_undefined(env);
}

// leak(fail: boolean): throws when fail is true, leaking the context.
static napi_value Leak(napi_env env, napi_callback_info info) {
  return Run(env, info, LEAK_NAME, false);
}

// ok(fail: boolean): throws when fail is true, context always destroyed.
static napi_value Ok(napi_env env, napi_callback_info info) {
  return Run(env, info, OK_NAME, true);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor descriptors[] = {
      DECLARE_NODE_API_PROPERTY("leak", Leak),
      DECLARE_NODE_API_PROPERTY("ok", Ok),
  };
  NODE_API_EXPORT_PROPERTIES(env, exports, descriptors);
  return exports;
}
