// Shared helpers for the native fixtures, modelled on Node's
// test/js-native-api/common.h. Every fixture includes this file, so keep it
// dependency-free (C99, <node_api.h> only) and header-only.
#ifndef NATIVE_FIXTURES_COMMON_H_
#define NATIVE_FIXTURES_COMMON_H_

#include <node_api.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

// Empty value so that the macros below can `return ret_val;` from void
// functions too.
#define NODE_API_RETVAL_NOTHING  // Intentionally blank

// Throw a JS Error naming the call that failed plus Node's own message for the
// last error, unless an exception is already pending (then we keep that one:
// it is the more precise error, e.g. a JS callback that threw).
#define NODE_API_THROW_LAST_ERROR(env, call_text)                             \
  do {                                                                        \
    const napi_extended_error_info* error_info_ = NULL;                       \
    bool is_pending_ = false;                                                 \
    napi_get_last_error_info((env), &error_info_);                            \
    napi_is_exception_pending((env), &is_pending_);                           \
    if (!is_pending_) {                                                       \
      char message_[512];                                                     \
      const char* detail_ =                                                   \
          (error_info_ != NULL && error_info_->error_message != NULL)         \
              ? error_info_->error_message                                    \
              : "empty error message";                                        \
      snprintf(message_, sizeof(message_), "%s failed: %s", (call_text),      \
               detail_);                                                      \
      napi_throw_error((env), "ERR_NATIVE_FIXTURE", message_);                \
    }                                                                         \
  } while (0)

#define NODE_API_CALL_BASE(env, the_call, ret_val)                            \
  do {                                                                        \
    if ((the_call) != napi_ok) {                                              \
      NODE_API_THROW_LAST_ERROR((env), #the_call);                            \
      return ret_val;                                                         \
    }                                                                         \
  } while (0)

// Inside a napi_callback: on failure throw a JS error and return NULL.
// NOTE: the early return is exactly how real addons skip their cleanup
// (see error-path/), so fixtures that must stay balanced clean up by hand.
#define NODE_API_CALL(env, the_call) NODE_API_CALL_BASE(env, the_call, NULL)

// Like NODE_API_CALL, but runs `cleanup` (after the error has been captured
// and thrown) before returning NULL. For fixtures whose *correct* behaviour
// is to release what they already acquired.
#define NODE_API_CALL_OR_CLEANUP(env, the_call, cleanup)                      \
  do {                                                                        \
    if ((the_call) != napi_ok) {                                              \
      NODE_API_THROW_LAST_ERROR((env), #the_call);                            \
      cleanup;                                                                \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

// Same, for functions returning void.
#define NODE_API_CALL_RETURN_VOID(env, the_call)                              \
  NODE_API_CALL_BASE(env, the_call, NODE_API_RETVAL_NOTHING)

// For code that runs outside any JS call (raw libuv callbacks, env cleanup
// hooks, finalizers): nobody can receive a JS exception there, so a failing
// call is a fixture bug and we abort loudly.
#define NODE_API_FATAL_CALL(env, the_call)                                    \
  do {                                                                        \
    if ((the_call) != napi_ok) {                                              \
      const napi_extended_error_info* error_info_ = NULL;                     \
      napi_get_last_error_info((env), &error_info_);                          \
      fprintf(stderr, "native-fixtures: %s failed: %s\n", #the_call,          \
              (error_info_ != NULL && error_info_->error_message != NULL)     \
                  ? error_info_->error_message                                \
                  : "empty error message");                                   \
      abort();                                                                \
    }                                                                         \
  } while (0)

#define NODE_API_ASSERT_BASE(env, assertion, message, ret_val)                \
  do {                                                                        \
    if (!(assertion)) {                                                       \
      napi_throw_error((env), "ERR_NATIVE_FIXTURE",                           \
                       "assertion (" #assertion ") failed: " message);        \
      return ret_val;                                                         \
    }                                                                         \
  } while (0)

#define NODE_API_ASSERT(env, assertion, message)                              \
  NODE_API_ASSERT_BASE(env, assertion, message, NULL)

#define NODE_API_ASSERT_RETURN_VOID(env, assertion, message)                  \
  NODE_API_ASSERT_BASE(env, assertion, message, NODE_API_RETVAL_NOTHING)

// A napi_property_descriptor for a plain method.
#define DECLARE_NODE_API_PROPERTY(name, func)                                 \
  { (name), NULL, (func), NULL, NULL, NULL, napi_default, NULL }

// A napi_property_descriptor for a plain value.
#define DECLARE_NODE_API_PROPERTY_VALUE(name, value)                          \
  { (name), NULL, NULL, NULL, NULL, (value), napi_default, NULL }

#define NODE_API_ARRAY_LENGTH(array) (sizeof(array) / sizeof((array)[0]))

// Fetch exactly `n` JS arguments into `argv` (missing ones are undefined).
#define NODE_API_GET_ARGS(env, info, n, argv)                                 \
  do {                                                                        \
    size_t argc_ = (n);                                                       \
    NODE_API_CALL((env), napi_get_cb_info((env), (info), &argc_, (argv),      \
                                          NULL, NULL));                       \
  } while (0)

// Export `descriptors` on `exports`; used by every module init.
#define NODE_API_EXPORT_PROPERTIES(env, exports, descriptors)                 \
  NODE_API_CALL((env), napi_define_properties(                                \
                           (env), (exports),                                  \
                           NODE_API_ARRAY_LENGTH(descriptors), (descriptors)))

static inline napi_value fixture_undefined(napi_env env) {
  napi_value result = NULL;
  napi_get_undefined(env, &result);
  return result;
}

#endif  // NATIVE_FIXTURES_COMMON_H_
