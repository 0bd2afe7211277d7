// Scenario: a thread-safe function that is never released.
//
// A TSFN is a node::AsyncResource holding strong globals to its JS function
// and its resource ({} here), and it registers an env cleanup hook (+24 B in
// `Node / CleanupQueue` each). Only releasing it (thread count -> 0) lets it
// finalize, emit async_hooks destroy and drop those globals. The leak twin
// unrefs the TSFN so the process can still exit, which is exactly what hides
// the bug in practice: nothing hangs, the function just stays alive.
#include "common.h"

#define LEAK_NAME "fixture_tsfn_leak"
#define OK_NAME "fixture_tsfn_ok"

static napi_status create_tsfn(napi_env env, napi_value func, const char* name,
                               void* finalize_data, napi_finalize finalize_cb,
                               napi_threadsafe_function* result) {
  napi_value resource_name;
  napi_status status = napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH,
                                               &resource_name);
  if (status != napi_ok) return status;
  return napi_create_threadsafe_function(env, func, NULL, resource_name,
                                         0 /* max_queue_size: unlimited */,
                                         1 /* initial_thread_count */,
                                         finalize_data, finalize_cb,
                                         NULL /* context */,
                                         NULL /* call_js: call func() */,
                                         result);
}

// leak(fn): creates a TSFN for fn, unrefs it, never releases it.
static napi_value Leak(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  NODE_API_GET_ARGS(env, info, 1, argv);
  napi_threadsafe_function tsfn;
  NODE_API_CALL(env, create_tsfn(env, argv[0], LEAK_NAME, NULL, NULL, &tsfn));
  NODE_API_CALL(env, napi_unref_threadsafe_function(env, tsfn));
  // BUG (deliberate): the one thread slot (initial_thread_count 1) is never
  // given back with napi_release_threadsafe_function, so the TSFN lives until
  // env teardown.
  return fixture_undefined(env);
}

// Finalizer for the ok twin: runs on the loop thread once the TSFN is
// released, inside Node's callback scope. finalize_data is a napi_ref to a
// JS `onFinalized` callback (may be NULL).
static void OkFinalize(napi_env env, void* finalize_data, void* hint) {
  napi_ref on_finalized_ref = (napi_ref)finalize_data;
  if (on_finalized_ref == NULL) return;
  napi_value on_finalized = NULL, global = NULL;
  napi_get_reference_value(env, on_finalized_ref, &on_finalized);
  napi_delete_reference(env, on_finalized_ref);
  // At env teardown JS can no longer run; napi_call_function then just fails.
  if (on_finalized != NULL && napi_get_global(env, &global) == napi_ok) {
    napi_call_function(env, global, on_finalized, 0, NULL, NULL);
  }
}

// ok(fn, onFinalized?): creates the TSFN and releases it right away; the
// finalizer calls onFinalized() so callers can await the teardown.
static napi_value Ok(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  NODE_API_GET_ARGS(env, info, 2, argv);
  napi_valuetype type;
  NODE_API_CALL(env, napi_typeof(env, argv[1], &type));
  napi_ref on_finalized_ref = NULL;
  if (type == napi_function) {
    NODE_API_CALL(env, napi_create_reference(env, argv[1], 1,
                                             &on_finalized_ref));
  }
  napi_threadsafe_function tsfn;
  NODE_API_CALL_OR_CLEANUP(
      env,
      create_tsfn(env, argv[0], OK_NAME, on_finalized_ref, OkFinalize, &tsfn),
      if (on_finalized_ref != NULL) napi_delete_reference(env,
                                                          on_finalized_ref));
  NODE_API_CALL(env,
                napi_release_threadsafe_function(tsfn, napi_tsfn_release));
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
