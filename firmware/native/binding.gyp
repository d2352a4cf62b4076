{
  "targets": [
    {
      "target_name": "tonewall_native",
      "sources": ["src/tonewall_native.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2"],
      "ldflags": ["-Wl,-z,relro,-z,now"]
    },
    {
      "target_name": "action_after_build",
      "type": "none",
      "dependencies": ["tonewall_native"],
      "copies": [{ "files": ["<(PRODUCT_DIR)/tonewall_native.node"], "destination": "<(module_path)" }]
    }
  ]
}
