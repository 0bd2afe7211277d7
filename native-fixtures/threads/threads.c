// Fixture: thread-safe functions used from a libuv thread-pool thread and from
// a native thread (pthread), to check that the ledger is safe there and that
// the TSFN thread count is kept exactly.
//   tsfnPool(fn, done, leak): TSFN with 1 slot (main). Async work's Execute,
//     on a pool thread, acquires a slot, calls fn, releases it. Complete (main)
//     gives main's slot back (ok) or forgets it and unrefs (leak: count stays 1).
//   tsfnNative(fn, leak): TSFN with 2 slots (main + native thread). Main gives
//     its slot back at once; the native thread acquires one more, calls fn,
//     releases twice (ok) or once (leak: count stays 1, TSFN unref'ed).
#include <pthread.h>
#include <stdlib.h>
#include "common.h"

static void CallJs(napi_env env, napi_value js_cb, void* context, void* data) {
  if (env == NULL || js_cb == NULL) return;
  napi_value global;
  if (napi_get_global(env, &global) != napi_ok) return;
  napi_call_function(env, global, js_cb, 0, NULL, NULL);
}

typedef struct {
  napi_threadsafe_function tsfn;
  napi_async_work work;
  napi_ref done;
  bool leak;
} PoolJob;

static void PoolExecute(napi_env env, void* data) {  // libuv pool thread
  PoolJob* job = (PoolJob*)data;
  if (napi_acquire_threadsafe_function(job->tsfn) != napi_ok) return;
  napi_call_threadsafe_function(job->tsfn, NULL, napi_tsfn_blocking);
  napi_release_threadsafe_function(job->tsfn, napi_tsfn_release);
}

static void PoolComplete(napi_env env, napi_status status, void* data) {  // main thread
  PoolJob* job = (PoolJob*)data;
  if (!job->leak) {
    napi_release_threadsafe_function(job->tsfn, napi_tsfn_release);
  } else {
    napi_unref_threadsafe_function(env, job->tsfn);  // BUG (deliberate): main's slot never given back
  }
  napi_delete_async_work(env, job->work);
  napi_value done = NULL, global;
  napi_get_reference_value(env, job->done, &done);
  napi_delete_reference(env, job->done);
  free(job);
  if (done != NULL && napi_get_global(env, &global) == napi_ok) napi_call_function(env, global, done, 0, NULL, NULL);
}

static napi_value TsfnPool(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  NODE_API_GET_ARGS(env, info, 3, argv);
  bool leak = false;
  NODE_API_CALL(env, napi_get_value_bool(env, argv[2], &leak));
  PoolJob* job = (PoolJob*)calloc(1, sizeof(PoolJob));
  NODE_API_ASSERT(env, job != NULL, "out of memory");
  job->leak = leak;
  napi_value name;
  NODE_API_CALL(env, napi_create_string_utf8(env, leak ? "fixture_tsfn_pool_leak" : "fixture_tsfn_pool_ok", NAPI_AUTO_LENGTH, &name));
  NODE_API_CALL(env, napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 1, NULL, NULL, NULL, CallJs, &job->tsfn));
  NODE_API_CALL(env, napi_create_reference(env, argv[1], 1, &job->done));
  NODE_API_CALL(env, napi_create_async_work(env, NULL, name, PoolExecute, PoolComplete, job, &job->work));
  NODE_API_CALL(env, napi_queue_async_work(env, job->work));
  return fixture_undefined(env);
}

typedef struct {
  napi_threadsafe_function tsfn;
  bool leak;
} NativeJob;

static void* NativeMain(void* arg) {  // a thread Node knows nothing about
  NativeJob* job = (NativeJob*)arg;
  napi_threadsafe_function tsfn = job->tsfn;
  bool leak = job->leak;
  free(job);
  if (napi_acquire_threadsafe_function(tsfn) != napi_ok) return NULL;
  napi_call_threadsafe_function(tsfn, NULL, napi_tsfn_blocking);
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  if (!leak) napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  // else BUG (deliberate): this thread's slot is never given back
  return NULL;
}

static napi_value TsfnNative(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  NODE_API_GET_ARGS(env, info, 2, argv);
  bool leak = false;
  NODE_API_CALL(env, napi_get_value_bool(env, argv[1], &leak));
  napi_value name;
  NODE_API_CALL(env, napi_create_string_utf8(env, leak ? "fixture_tsfn_native_leak" : "fixture_tsfn_native_ok", NAPI_AUTO_LENGTH, &name));
  napi_threadsafe_function tsfn;
  NODE_API_CALL(env, napi_create_threadsafe_function(env, argv[0], NULL, name, 0, 2, NULL, NULL, NULL, CallJs, &tsfn));
  if (leak) NODE_API_CALL(env, napi_unref_threadsafe_function(env, tsfn));
  NODE_API_CALL(env, napi_release_threadsafe_function(tsfn, napi_tsfn_release));  // main's slot, before the thread starts
  NativeJob* job = (NativeJob*)calloc(1, sizeof(NativeJob));
  NODE_API_ASSERT(env, job != NULL, "out of memory");
  job->tsfn = tsfn;
  job->leak = leak;
  pthread_t thread;
  NODE_API_ASSERT(env, pthread_create(&thread, NULL, NativeMain, job) == 0, "pthread_create failed");
  pthread_detach(thread);
  return fixture_undefined(env);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor descriptors[] = {
      DECLARE_NODE_API_PROPERTY("tsfnPool", TsfnPool),
      DECLARE_NODE_API_PROPERTY("tsfnNative", TsfnNative),
  };
  NODE_API_EXPORT_PROPERTIES(env, exports, descriptors);
  return exports;
}
