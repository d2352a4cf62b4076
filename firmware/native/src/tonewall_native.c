/*
 * tonewall_native: what Node cannot do alone on the appliance (DESIGN.md §7), as plain N-API C.
 *
 *   notify(socketPath: string, message: string): number
 *       One datagram to systemd's notify socket ($NOTIFY_SOCKET; a leading '@' is the abstract
 *       namespace), e.g. "READY=1", "STATUS=...", "WATCHDOG=1", "STOPPING=1" (sd_notify(3)).
 *       Returns the bytes sent; throws with the errno text on failure.
 *   mlock(buf: Buffer): void / munlock(buf: Buffer): void
 *       Lock/unlock the pages backing a Buffer out of swap (mlock(2)); for card-data buffers.
 *   wipe(buf: Buffer): void
 *       Overwrite a Buffer's bytes with zeros in a way the compiler may not elide (explicit_bzero).
 *   setRealtime(priority: number): void
 *       SCHED_FIFO at `priority` (1..99) for the calling thread (needs CAP_SYS_NICE or RLIMIT_RTPRIO).
 *   abiVersion: number  (bumped when the exported functions change)
 *
 * Errors are thrown as Error with code "ENATIVE_<ERRNO NAME>" and a message naming the call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define ABI_VERSION 1
#define MAX_MESSAGE 4096

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char code[64];
  char msg[256];
  const char *name = strerrorname_np(err);
  snprintf(code, sizeof code, "ENATIVE_%s", name ? name : "UNKNOWN");
  snprintf(msg, sizeof msg, "%s failed: %s (errno %d)", what, strerror(err), err);
  napi_throw_error(env, code, msg);
  return NULL;
}

static napi_value throw_arg(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ENATIVE_ARG", msg);
  return NULL;
}

static int get_string(napi_env env, napi_value v, char *out, size_t cap, size_t *len) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) return -1;
  if (napi_get_value_string_utf8(env, v, out, cap, len) != napi_ok) return -1;
  return *len + 1 < cap ? 0 : -1; /* truncated means too long */
}

static int get_buffer(napi_env env, napi_value v, void **data, size_t *len) {
  bool is_buf = false;
  if (napi_is_buffer(env, v, &is_buf) != napi_ok || !is_buf) return -1;
  return napi_get_buffer_info(env, v, data, len) == napi_ok ? 0 : -1;
}

static napi_value do_notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
  char message[MAX_MESSAGE];
  size_t path_len = 0, msg_len = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return throw_arg(env, "notify(socketPath, message) needs 2 arguments");
  if (get_string(env, argv[0], path, sizeof path, &path_len) != 0 || path_len == 0 || path_len >= sizeof(((struct sockaddr_un *)0)->sun_path))
    return throw_arg(env, "notify: socketPath must be a non-empty string shorter than 108 bytes");
  if (path[0] != '/' && path[0] != '@') return throw_arg(env, "notify: socketPath must start with '/' or '@'");
  if (get_string(env, argv[1], message, sizeof message, &msg_len) != 0 || msg_len == 0)
    return throw_arg(env, "notify: message must be a non-empty string of at most 4095 bytes");

  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path, path_len);
  if (path[0] == '@') addr.sun_path[0] = '\0';
  socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + (path[0] == '@' ? 0 : 1));

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "notify: socket(AF_UNIX, SOCK_DGRAM)", errno);
  ssize_t n = sendto(fd, message, msg_len, MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
  int err = errno;
  close(fd);
  if (n < 0) return throw_errno(env, "notify: sendto", err);
  napi_value result;
  napi_create_int64(env, (int64_t)n, &result);
  return result;
}

typedef int (*mem_fn)(const void *, size_t);

static napi_value buffer_call(napi_env env, napi_callback_info info, const char *what, mem_fn fn) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  size_t len = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || get_buffer(env, argv[0], &data, &len) != 0) return throw_arg(env, "expected a Buffer argument");
  if (len == 0) return NULL;
  if (fn(data, len) != 0) return throw_errno(env, what, errno);
  return NULL;
}

static napi_value do_mlock(napi_env env, napi_callback_info info) { return buffer_call(env, info, "mlock", mlock); }
static napi_value do_munlock(napi_env env, napi_callback_info info) { return buffer_call(env, info, "munlock", munlock); }

static int wipe_bytes(const void *data, size_t len) {
  explicit_bzero((void *)data, len);
  return 0;
}
static napi_value do_wipe(napi_env env, napi_callback_info info) { return buffer_call(env, info, "wipe", wipe_bytes); }

static napi_value do_set_realtime(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t prio = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &prio) != napi_ok || prio < 1 || prio > 99)
    return throw_arg(env, "setRealtime(priority): priority must be an integer 1..99");
  struct sched_param sp;
  memset(&sp, 0, sizeof sp);
  sp.sched_priority = prio;
  if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) return throw_errno(env, "setRealtime: sched_setscheduler(SCHED_FIFO)", errno);
  return NULL;
}

static void export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static napi_value init(napi_env env, napi_value exports) {
  export_fn(env, exports, "notify", do_notify);
  export_fn(env, exports, "mlock", do_mlock);
  export_fn(env, exports, "munlock", do_munlock);
  export_fn(env, exports, "wipe", do_wipe);
  export_fn(env, exports, "setRealtime", do_set_realtime);
  napi_value abi;
  napi_create_int32(env, ABI_VERSION, &abi);
  napi_set_named_property(env, exports, "abiVersion", abi);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
