{
  "targets": [
    {
      "target_name": "async_work",
      "sources": ["async_work.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-g"]
    }
  ]
}
