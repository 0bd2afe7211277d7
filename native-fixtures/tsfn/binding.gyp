{
  "targets": [
    {
      "target_name": "tsfn",
      "sources": ["tsfn.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-g"]
    }
  ]
}
