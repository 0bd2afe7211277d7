{
  "targets": [
    {
      "target_name": "shared_context",
      "sources": ["shared_context.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-g"]
    }
  ]
}
