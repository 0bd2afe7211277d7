{
  "targets": [
    {
      "target_name": "reference",
      "sources": ["reference.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-g"]
    }
  ]
}
