// The capture's memory probe: a Node-API addon the scenario harness loads
// (process.dlopen) to read the C allocator's own figures before each
// snapshot. RSS alone cannot show a native leak between few snapshots:
// writing a heap snapshot leaves tens of MB of freed memory inside glibc's
// arenas, and the next allocations reuse it before RSS moves. malloc_trim(0)
// hands that memory back to the kernel, and mallinfo2() counts the bytes
// actually allocated, across every arena.
//
// Compiled on first use with the system C compiler (src/native/compile.ts),
// so it declares the few Node-API functions it calls instead of including
// node_api.h: no Node headers are needed. Node-API is ABI-stable; the
// symbols resolve against the running node binary when it is loaded.
#include <stddef.h>
#include <stdint.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

typedef struct napi_env__* napi_env;
typedef struct napi_value__* napi_value;
typedef struct napi_callback_info__* napi_callback_info;
typedef int napi_status;
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);

extern napi_status napi_create_object(napi_env env, napi_value* result);
extern napi_status napi_create_double(napi_env env, double value, napi_value* result);
extern napi_status napi_set_named_property(napi_env env, napi_value object, const char* name, napi_value value);
extern napi_status napi_create_function(napi_env env, const char* name, size_t length, napi_callback cb, void* data, napi_value* result);

#define EXPORTED __attribute__((visibility("default")))

static void set_number(napi_env env, napi_value object, const char* name, double value) {
  napi_value number;
  if (napi_create_double(env, value, &number) == 0) napi_set_named_property(env, object, name, number);
}

// read(): { inUse, free, mmapped } in bytes, from mallinfo2(); -1 where the
// C library cannot tell (not glibc, or glibc older than 2.33).
static napi_value Read(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  if (napi_create_object(env, &result) != 0) return NULL;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  struct mallinfo2 m = mallinfo2();
  // uordblks: allocated from the arenas; hblkhd: allocated by mmap.
  set_number(env, result, "inUse", (double)m.uordblks + (double)m.hblkhd);
  set_number(env, result, "free", (double)m.fordblks);
  set_number(env, result, "mmapped", (double)m.hblkhd);
#else
  set_number(env, result, "inUse", -1);
  set_number(env, result, "free", -1);
  set_number(env, result, "mmapped", -1);
#endif
  return result;
}

// trim(): returns the allocator's free memory to the kernel, so RSS counts
// what is in use.
static napi_value Trim(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
  return NULL;
}

EXPORTED int32_t node_api_module_get_api_version_v1(void) { return 8; }

EXPORTED napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "read", 4, Read, NULL, &fn) == 0) napi_set_named_property(env, exports, "read", fn);
  if (napi_create_function(env, "trim", 4, Trim, NULL, &fn) == 0) napi_set_named_property(env, exports, "trim", fn);
  return exports;
}
