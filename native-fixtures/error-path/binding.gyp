{
  "targets": [
    {
      "target_name": "error_path",
      "sources": ["error_path.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-g"]
    }
  ]
}
