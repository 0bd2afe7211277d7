// Scenario (for a later issue): native memory that the V8 heap cannot see.
//
// Each call allocates 64 KiB with malloc and touches every byte (so the
// pages count toward RSS). The leak twin never frees the block. The async
// context around the work is correctly paired in *both* twins, so neither
// heap snapshots nor async_hooks show anything: only RSS / native heap
// accounting (and nativeBytesOutstanding() here) reveal the leak.
#include <stdatomic.h>
#include <string.h>
#include "common.h"

#define LEAK_NAME "fixture_native_memory"
#define OK_NAME "fixture_native_memory_ok"
#define BLOCK_SIZE (64 * 1024)

// Published so the compiler cannot prove the allocation dead and elide the
// malloc/memset (or malloc/free) pair.
static void* volatile last_block = NULL;
static atomic_llong bytes_outstanding = 0;

static napi_value Allocate(napi_env env, const char* name, bool release) {
  napi_value resource_name;
  NODE_API_CALL(env, napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH,
                                             &resource_name));
  napi_async_context context;
  NODE_API_CALL(env, napi_async_init(env, NULL, resource_name, &context));

  unsigned char* block = (unsigned char*)malloc(BLOCK_SIZE);
  if (block == NULL) {
    napi_async_destroy(env, context);
    NODE_API_ASSERT(env, false, "out of memory");
  }
  last_block = block;
  memset(block, 0xA5, BLOCK_SIZE);
  atomic_fetch_add(&bytes_outstanding, BLOCK_SIZE);

  if (release) {
    last_block = NULL;
    free(block);
    atomic_fetch_sub(&bytes_outstanding, BLOCK_SIZE);
  }
  // else BUG (deliberate): the only pointer to `block` is overwritten by the
  // next call; the 64 KiB are never freed.

  NODE_API_CALL(env, napi_async_destroy(env, context));
  return fixture_undefined(env);
}

// leak(): allocates and loses 64 KiB.
static napi_value Leak(napi_env env, napi_callback_info info) {
  return Allocate(env, LEAK_NAME, false);
}

// ok(): allocates, touches and frees 64 KiB.
static napi_value Ok(napi_env env, napi_callback_info info) {
  return Allocate(env, OK_NAME, true);
}

// nativeBytesOutstanding(): bytes allocated by this addon and not freed
// (process-wide).
static napi_value NativeBytesOutstanding(napi_env env,
                                         napi_callback_info info) {
  napi_value result;
  NODE_API_CALL(env, napi_create_double(
                         env, (double)atomic_load(&bytes_outstanding),
                         &result));
  return result;
}

NAPI_MODULE_INIT() {
  napi_value block_size;
  NODE_API_CALL(env, napi_create_int32(env, BLOCK_SIZE, &block_size));
  napi_property_descriptor descriptors[] = {
      DECLARE_NODE_API_PROPERTY("leak", Leak),
      DECLARE_NODE_API_PROPERTY("ok", Ok),
      DECLARE_NODE_API_PROPERTY("nativeBytesOutstanding",
                                NativeBytesOutstanding),
      DECLARE_NODE_API_PROPERTY_VALUE("BLOCK_SIZE", block_size),
  };
  NODE_API_EXPORT_PROPERTIES(env, exports, descriptors);
  return exports;
}
