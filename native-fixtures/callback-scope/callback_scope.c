// Scenario: a callback scope left open in a raw libuv callback.
//
// napi_open_callback_scope exists for addons that run JS from their own
// libuv callbacks (outside any Node-API call). Inside a Node-API call a
// scope left open is caught by a CHECK (SIGABRT); here, in a uv_timer
// callback, nothing checks it. The scope stays on Node's callback-scope
// stack forever: async_hooks sees `before` without `after`, the context is
// never destroyed, and because the callback-scope depth never returns to
// 0, later top-level callbacks no longer drain process.nextTick or promise
// jobs (the rest of the process silently loses its microtask checkpoint).
#include <uv.h>
#include "common.h"

#define LEAK_NAME "fixture_callback_scope_leak"
#define OK_NAME "fixture_callback_scope_ok"

typedef struct {
  uv_timer_t timer;  // first member: the handle pointer is the Tick pointer
  napi_env env;
  napi_ref callback;
  bool close_scope;
} Tick;

static void OnClose(uv_handle_t* handle) { free(handle->data); }

// Called by libuv directly: no Node-API call is on the stack, so there is no
// handle scope / callback scope bookkeeping check around us.
static void OnTimer(uv_timer_t* timer) {
  Tick* tick = (Tick*)timer->data;
  napi_env env = tick->env;
  const char* name = tick->close_scope ? OK_NAME : LEAK_NAME;

  napi_handle_scope handle_scope;
  NODE_API_FATAL_CALL(env, napi_open_handle_scope(env, &handle_scope));

  napi_value resource_name, resource, callback, global;
  napi_async_context context;
  napi_callback_scope scope;
  NODE_API_FATAL_CALL(env, napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH,
                                                   &resource_name));
  NODE_API_FATAL_CALL(env,
                      napi_async_init(env, NULL, resource_name, &context));
  // Node ignores this argument (the context's own resource is used), but the
  // API requires one.
  NODE_API_FATAL_CALL(env, napi_create_object(env, &resource));
  NODE_API_FATAL_CALL(
      env, napi_open_callback_scope(env, resource, context, &scope));

  NODE_API_FATAL_CALL(
      env, napi_get_reference_value(env, tick->callback, &callback));
  NODE_API_FATAL_CALL(env, napi_get_global(env, &global));
  if (napi_call_function(env, global, callback, 0, NULL, NULL) ==
      napi_pending_exception) {
    // Nobody up the stack can catch it: report it as uncaught.
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }

  if (tick->close_scope) {
    // Correct: close the scope (emits `after` and, being the outermost
    // scope, drains nextTicks/microtasks), then release the context.
    NODE_API_FATAL_CALL(env, napi_close_callback_scope(env, scope));
    NODE_API_FATAL_CALL(env, napi_async_destroy(env, context));
  }
  // else BUG (deliberate): `scope` and `context` are dropped while open.

  NODE_API_FATAL_CALL(env, napi_delete_reference(env, tick->callback));
  tick->callback = NULL;
  NODE_API_FATAL_CALL(env, napi_close_handle_scope(env, handle_scope));

  uv_close((uv_handle_t*)&tick->timer, OnClose);
}

static napi_value Schedule(napi_env env, napi_callback_info info,
                           bool close_scope) {
  napi_value argv[1];
  NODE_API_GET_ARGS(env, info, 1, argv);
  napi_valuetype type;
  NODE_API_CALL(env, napi_typeof(env, argv[0], &type));
  NODE_API_ASSERT(env, type == napi_function, "callback must be a function");

  struct uv_loop_s* loop = NULL;
  NODE_API_CALL(env, napi_get_uv_event_loop(env, &loop));

  Tick* tick = (Tick*)calloc(1, sizeof(Tick));
  NODE_API_ASSERT(env, tick != NULL, "out of memory");
  tick->env = env;
  tick->close_scope = close_scope;
  NODE_API_CALL_OR_CLEANUP(
      env, napi_create_reference(env, argv[0], 1, &tick->callback),
      free(tick));
  int rc = uv_timer_init(loop, &tick->timer);
  if (rc != 0) {
    napi_delete_reference(env, tick->callback);
    free(tick);
    NODE_API_ASSERT(env, false, "uv_timer_init failed");
  }
  tick->timer.data = tick;
  rc = uv_timer_start(&tick->timer, OnTimer, 0, 0);
  if (rc != 0) {
    napi_delete_reference(env, tick->callback);
    tick->callback = NULL;
    uv_close((uv_handle_t*)&tick->timer, OnClose);
    NODE_API_ASSERT(env, false, "uv_timer_start failed");
  }
  return fixture_undefined(env);
}

// leak(callback): on a later loop turn, calls callback() inside a callback
// scope that is never closed, on a context that is never destroyed.
static napi_value Leak(napi_env env, napi_callback_info info) {
  return Schedule(env, info, false);
}

// ok(callback): same, with the scope closed and the context destroyed.
static napi_value Ok(napi_env env, napi_callback_info info) {
  return Schedule(env, info, true);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor descriptors[] = {
      DECLARE_NODE_API_PROPERTY("leak", Leak),
      DECLARE_NODE_API_PROPERTY("ok", Ok),
  };
  NODE_API_EXPORT_PROPERTIES(env, exports, descriptors);
  return exports;
}
