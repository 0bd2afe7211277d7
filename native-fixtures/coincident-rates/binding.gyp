{
  "targets": [
    {
      "target_name": "coincident_rates",
      "sources": ["coincident_rates.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-g"]
    }
  ]
}
