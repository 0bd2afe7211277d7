{
  "targets": [
    {
      "target_name": "null_resource",
      "sources": ["null_resource.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-g"]
    }
  ]
}
