// Scenario: napi_create_async_work that is never deleted.
//
// uvimpl::Work is a node::AsyncResource: it holds its resource (a fresh {}
// when NULL is passed) through a strong v8::Global, and emits async_hooks
// destroy only from its destructor, i.e. from napi_delete_async_work. Work
// that completes but is never deleted keeps both forever: init/before/after
// are seen, destroy never is.
#include "common.h"

#define LEAK_NAME "fixture_async_work_leak"
#define OK_NAME "fixture_async_work_ok"

typedef struct {
  napi_async_work work;
  napi_ref callback;
  bool delete_when_done;
  double result;
} Job;

// Runs on the thread pool: trivial work, no JS.
static void Execute(napi_env env, void* data) {
  Job* job = (Job*)data;
  double sum = 0;
  for (int k = 0; k < 1000; k++) sum += k;
  job->result = sum;
}

// Runs on the loop thread inside Node's callback scope (before/after).
static void Complete(napi_env env, napi_status status, void* data) {
  Job* job = (Job*)data;
  napi_async_work work = job->work;
  bool delete_when_done = job->delete_when_done;

  napi_value callback = NULL, global = NULL, argv[2];
  napi_get_reference_value(env, job->callback, &callback);
  napi_delete_reference(env, job->callback);  // the callback is not the leak
  napi_get_global(env, &global);
  napi_get_null(env, &argv[0]);
  if (status == napi_ok) {
    napi_create_double(env, job->result, &argv[1]);
  } else {
    napi_value message;
    napi_create_string_utf8(env, "fixture async work cancelled",
                            NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &argv[0]);
    napi_get_undefined(env, &argv[1]);
  }
  free(job);

  // callback(err, result). A JS exception stays pending and is reported as
  // uncaught by Node once we return.
  if (callback != NULL) {
    napi_call_function(env, global, callback, 2, argv, NULL);
  }

  if (delete_when_done) {
    napi_delete_async_work(env, work);
  }
  // else BUG (deliberate): `work` is dropped without napi_delete_async_work.
}

static napi_value Queue(napi_env env, napi_callback_info info,
                        const char* name, bool delete_when_done) {
  napi_value argv[1];
  NODE_API_GET_ARGS(env, info, 1, argv);
  napi_valuetype type;
  NODE_API_CALL(env, napi_typeof(env, argv[0], &type));
  NODE_API_ASSERT(env, type == napi_function, "callback must be a function");

  napi_value resource_name;
  NODE_API_CALL(env, napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH,
                                             &resource_name));
  Job* job = (Job*)calloc(1, sizeof(Job));
  NODE_API_ASSERT(env, job != NULL, "out of memory");
  job->delete_when_done = delete_when_done;
  NODE_API_CALL_OR_CLEANUP(
      env, napi_create_reference(env, argv[0], 1, &job->callback), free(job));
  NODE_API_CALL_OR_CLEANUP(
      env,
      napi_create_async_work(env, NULL, resource_name, Execute, Complete, job,
                             &job->work),
      (napi_delete_reference(env, job->callback), free(job)));
  NODE_API_CALL_OR_CLEANUP(env, napi_queue_async_work(env, job->work),
                           (napi_delete_async_work(env, job->work),
                            napi_delete_reference(env, job->callback),
                            free(job)));
  return fixture_undefined(env);
}

// leak(callback): queues work; complete calls callback(null, result) and
// never deletes the work.
static napi_value Leak(napi_env env, napi_callback_info info) {
  return Queue(env, info, LEAK_NAME, false);
}

// ok(callback): same, but complete deletes the work.
static napi_value Ok(napi_env env, napi_callback_info info) {
  return Queue(env, info, OK_NAME, true);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor descriptors[] = {
      DECLARE_NODE_API_PROPERTY("leak", Leak),
      DECLARE_NODE_API_PROPERTY("ok", Ok),
  };
  NODE_API_EXPORT_PROPERTIES(env, exports, descriptors);
  return exports;
}
