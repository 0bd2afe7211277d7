{
  "targets": [
    {
      "target_name": "native_memory",
      "sources": ["native_memory.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-g"]
    }
  ]
}
