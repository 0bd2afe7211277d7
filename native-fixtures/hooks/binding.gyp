{
  "targets": [
    {
      "target_name": "hooks",
      "sources": ["hooks.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-g"]
    }
  ]
}
