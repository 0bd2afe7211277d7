{
  "targets": [
    {
      "target_name": "js_resource",
      "sources": ["js_resource.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-g"]
    }
  ]
}
