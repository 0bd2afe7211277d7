{
  "targets": [
    {
      "target_name": "wrapped_weak_ref",
      "sources": ["wrapped_weak_ref.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-g"]
    }
  ]
}
