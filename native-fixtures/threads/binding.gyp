{
  "targets": [
    {
      "target_name": "threads",
      "sources": ["threads.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-g"],
      "libraries": ["-lpthread"]
    }
  ]
}
