// Fixture: one helper wraps napi_async_init for several callers. The ledger
// must keep one site per caller chain (the helper's return address is the
// same for all of them).
//   startA(): helper <- StartA, context leaked (never destroyed)
//   startB(): helper <- StartB, context destroyed through close_context
//   startC(): helper <- middle <- StartC, context leaked (a 3-frame chain)
#include <stdio.h>
#include "common.h"

static volatile int opened = 0, closed = 0;

__attribute__((noinline)) static napi_status open_context(napi_env env, const char* name,
                                                          napi_async_context* out) {
  napi_value resource_name;
  napi_status status = napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name);
  if (status != napi_ok) return status;
  status = napi_async_init(env, NULL, resource_name, out);
  if (status == napi_ok) opened++;  // work after the call: no tail call
  return status;
}

__attribute__((noinline)) static napi_status close_context(napi_env env, napi_async_context ctx) {
  napi_status status = napi_async_destroy(env, ctx);
  if (status == napi_ok) closed++;
  return status;
}

__attribute__((noinline)) static napi_status middle(napi_env env, napi_async_context* out) {
  napi_status status = open_context(env, "fixture_helper_c", out);
  if (status == napi_ok) opened++;
  return status;
}

static napi_value StartA(napi_env env, napi_callback_info info) {
  napi_async_context ctx;
  NODE_API_CALL(env, open_context(env, "fixture_helper_a", &ctx));
  return fixture_undefined(env);  // BUG (deliberate): ctx leaked
}

static napi_value StartB(napi_env env, napi_callback_info info) {
  napi_async_context ctx;
  NODE_API_CALL(env, open_context(env, "fixture_helper_b", &ctx));
  NODE_API_CALL(env, close_context(env, ctx));
  return fixture_undefined(env);
}

static napi_value StartC(napi_env env, napi_callback_info info) {
  napi_async_context ctx;
  NODE_API_CALL(env, middle(env, &ctx));
  return fixture_undefined(env);  // BUG (deliberate): ctx leaked
}

NAPI_MODULE_INIT() {
  napi_property_descriptor descriptors[] = {
      DECLARE_NODE_API_PROPERTY("startA", StartA),
      DECLARE_NODE_API_PROPERTY("startB", StartB),
      DECLARE_NODE_API_PROPERTY("startC", StartC),
  };
  NODE_API_EXPORT_PROPERTIES(env, exports, descriptors);
  return exports;
}
