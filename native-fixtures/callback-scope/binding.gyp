{
  "targets": [
    {
      "target_name": "callback_scope",
      "sources": ["callback_scope.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-g"]
    }
  ]
}
