{
  # One source, two addons: the leak twin and the ok twin differ only in
  # whether they register an env cleanup hook (and in their async names).
  "targets": [
    {
      "target_name": "worker_teardown_leak",
      "sources": ["worker_teardown.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8", "FIXTURE_OK_TWIN=0"],
      "cflags": ["-g"]
    },
    {
      "target_name": "worker_teardown_ok",
      "sources": ["worker_teardown.c"],
      "include_dirs": [".."],
      "defines": ["NAPI_VERSION=8", "FIXTURE_OK_TWIN=1"],
      "cflags": ["-g"]
    }
  ]
}
