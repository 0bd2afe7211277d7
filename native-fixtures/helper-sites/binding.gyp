{
  "targets": [
    {
      "target_name": "helper_sites",
      "sources": ["helper_sites.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-g"]
    }
  ]
}
