// Fixture: cleanup hooks, escapable handle scopes, and a handle scope left
// open in a raw libuv callback.
//   addHook(remove):      napi_add_env_cleanup_hook(Hook, &slot[k]); removed at once when remove,
//                         else left for Node to run at env teardown (natural exit or Worker exit;
//                         not on process.exit()).
//   addAsyncHook(remove): napi_add_async_cleanup_hook; removed at once when remove, else the hook
//                         removes itself when Node runs it at teardown (correct usage).
//   escapable():          escapable handle scope, object escaped, scope closed (balanced).
//   scopeTimer(leak, cb): a 0 ms uv timer whose callback opens a handle scope, calls cb and closes
//                         the scope (ok) or leaves it open (leak: +1 open handle scope).
#include <stdlib.h>
#include <uv.h>
#include "common.h"

static int hook_runs[1 << 16];
static int next_hook = 0;
static void Hook(void* arg) { (*(int*)arg)++; }

static napi_value AddHook(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  NODE_API_GET_ARGS(env, info, 1, argv);
  bool remove = false;
  NODE_API_CALL(env, napi_get_value_bool(env, argv[0], &remove));
  int* arg = &hook_runs[next_hook++ & 0xffff];
  NODE_API_CALL(env, napi_add_env_cleanup_hook(env, Hook, arg));
  if (remove) NODE_API_CALL(env, napi_remove_env_cleanup_hook(env, Hook, arg));
  return fixture_undefined(env);
}

static void AsyncHook(napi_async_cleanup_hook_handle handle, void* arg) {
  napi_remove_async_cleanup_hook(handle);
}

static napi_value AddAsyncHook(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  NODE_API_GET_ARGS(env, info, 1, argv);
  bool remove = false;
  NODE_API_CALL(env, napi_get_value_bool(env, argv[0], &remove));
  napi_async_cleanup_hook_handle handle = NULL;
  NODE_API_CALL(env, napi_add_async_cleanup_hook(env, AsyncHook, NULL, remove ? &handle : NULL));
  if (remove) NODE_API_CALL(env, napi_remove_async_cleanup_hook(handle));
  return fixture_undefined(env);
}

static napi_value Escapable(napi_env env, napi_callback_info info) {
  napi_escapable_handle_scope scope;
  napi_value object, escaped;
  NODE_API_CALL(env, napi_open_escapable_handle_scope(env, &scope));
  NODE_API_CALL(env, napi_create_object(env, &object));
  NODE_API_CALL(env, napi_escape_handle(env, scope, object, &escaped));
  NODE_API_CALL(env, napi_close_escapable_handle_scope(env, scope));
  return escaped;
}

typedef struct {
  uv_timer_t timer;
  napi_env env;
  napi_ref callback;
  bool leak;
} Tick;

static void OnClose(uv_handle_t* handle) { free(handle->data); }

static void OnTimer(uv_timer_t* timer) {
  Tick* tick = (Tick*)timer->data;
  napi_env env = tick->env;
  napi_handle_scope scope;
  NODE_API_FATAL_CALL(env, napi_open_handle_scope(env, &scope));
  napi_value callback, global;
  NODE_API_FATAL_CALL(env, napi_get_reference_value(env, tick->callback, &callback));
  NODE_API_FATAL_CALL(env, napi_get_global(env, &global));
  napi_call_function(env, global, callback, 0, NULL, NULL);
  NODE_API_FATAL_CALL(env, napi_delete_reference(env, tick->callback));
  if (!tick->leak) NODE_API_FATAL_CALL(env, napi_close_handle_scope(env, scope));
  // else BUG (deliberate): the scope stays open (every later local stays alive)
  uv_close((uv_handle_t*)&tick->timer, OnClose);
}

static napi_value ScopeTimer(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  NODE_API_GET_ARGS(env, info, 2, argv);
  struct uv_loop_s* loop = NULL;
  NODE_API_CALL(env, napi_get_uv_event_loop(env, &loop));
  Tick* tick = (Tick*)calloc(1, sizeof(Tick));
  NODE_API_ASSERT(env, tick != NULL, "out of memory");
  tick->env = env;
  NODE_API_CALL(env, napi_get_value_bool(env, argv[0], &tick->leak));
  NODE_API_CALL(env, napi_create_reference(env, argv[1], 1, &tick->callback));
  uv_timer_init(loop, &tick->timer);
  tick->timer.data = tick;
  uv_timer_start(&tick->timer, OnTimer, 0, 0);
  return fixture_undefined(env);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor descriptors[] = {
      DECLARE_NODE_API_PROPERTY("addHook", AddHook),
      DECLARE_NODE_API_PROPERTY("addAsyncHook", AddAsyncHook),
      DECLARE_NODE_API_PROPERTY("escapable", Escapable),
      DECLARE_NODE_API_PROPERTY("scopeTimer", ScopeTimer),
  };
  NODE_API_EXPORT_PROPERTIES(env, exports, descriptors);
  return exports;
}
