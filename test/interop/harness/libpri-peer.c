/*
 * libpri as an independent ISDN PRI peer for tonewall's interop tests.
 *
 * usage: libpri-peer network|cpe euroisdn_e1|ni2
 *
 * libpri runs over one end of a SOCK_SEQPACKET socketpair (one frame per datagram, plus the 2 FCS
 * bytes libpri writes and expects: test-peers.md section 4). This program relays the other end to
 * the test over stdio, one line per item:
 *   stdout  "F <hex>"          a Q.921 frame libpri sent (FCS bytes stripped)
 *           "E <event> ..."    a libpri event (dchan_up, ring <chan> <called> <calling> <name>, ...)
 *           "L <text>"         libpri debug/error text
 *   stdin   "F <hex>"          a Q.921 frame for libpri (2 FCS bytes appended here)
 *           "call <chan> <called> <calling> <name>" | "proceed" | "alert" | "answer"
 *           "hangup <cause>" | "reset <chan>" | "quit"
 * Only one call at a time is tracked: enough for the scripted scenarios.
 */
#include <libpri.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int lib_fd, relay_fd;
static struct pri *pri;
static q931_call *call;
static int call_chan;

static int io_write(struct pri *p, void *buf, int len) { return (int)write(*(int *)pri_get_userdata(p), buf, (size_t)len); }
static int io_read(struct pri *p, void *buf, int len) { return (int)read(*(int *)pri_get_userdata(p), buf, (size_t)len); }

static void text_line(struct pri *p, char *s) {
  (void)p;
  /* libpri's debug text may hold several lines; prefix each. */
  char *save = NULL;
  for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) printf("L %s\n", line);
  fflush(stdout);
}

static void relay_to_test(void) {
  unsigned char f[1024];
  ssize_t n = read(relay_fd, f, sizeof f);
  if (n <= 2) return;
  fputs("F ", stdout);
  for (ssize_t i = 0; i < n - 2; i++) printf("%02x", f[i]);
  fputc('\n', stdout);
  fflush(stdout);
}

static void frame_to_libpri(const char *hex) {
  unsigned char f[1024];
  size_t n = 0;
  while (hex[0] && hex[1] && n < sizeof f - 2) {
    unsigned int b;
    if (sscanf(hex, "%2x", &b) != 1) break;
    f[n++] = (unsigned char)b;
    hex += 2;
  }
  f[n++] = 0;
  f[n++] = 0;
  if (write(relay_fd, f, n) < 0) perror("write");
}

static void command(char *line) {
  char a[256] = "", b[256] = "", c[256] = "";
  int num = 0;
  line[strcspn(line, "\r\n")] = 0;
  if (strncmp(line, "F ", 2) == 0) {
    frame_to_libpri(line + 2);
  } else if (sscanf(line, "call %d %255s %255s %255s", &num, a, b, c) >= 3) {
    struct pri_sr *sr = pri_sr_new();
    call = pri_new_call(pri);
    call_chan = num;
    pri_sr_set_channel(sr, num, 1, 0);
    pri_sr_set_bearer(sr, PRI_TRANS_CAP_SPEECH, PRI_LAYER_1_ALAW);
    pri_sr_set_called(sr, a, PRI_UNKNOWN, 1);
    pri_sr_set_caller(sr, b, c, PRI_UNKNOWN, PRES_ALLOWED_USER_NUMBER_NOT_SCREENED);
    printf("E setup_result %d\n", pri_setup(pri, call, sr));
    pri_sr_free(sr);
  } else if (strcmp(line, "proceed") == 0 && call) {
    pri_proceeding(pri, call, call_chan, 0);
  } else if (strcmp(line, "alert") == 0 && call) {
    pri_acknowledge(pri, call, call_chan, 0);
  } else if (strcmp(line, "answer") == 0 && call) {
    pri_answer(pri, call, call_chan, 0);
  } else if (sscanf(line, "hangup %d", &num) == 1 && call) {
    pri_hangup(pri, call, num);
  } else if (sscanf(line, "reset %d", &num) == 1) {
    printf("E reset_result %d\n", pri_reset(pri, num));
  } else if (strcmp(line, "quit") == 0) {
    exit(0);
  } else {
    printf("E unknown_command %s\n", line);
  }
  fflush(stdout);
}

static void event(pri_event *e) {
  switch (e->e) {
  case PRI_EVENT_DCHAN_UP: puts("E dchan_up"); break;
  case PRI_EVENT_DCHAN_DOWN: puts("E dchan_down"); break;
  case PRI_EVENT_RING:
    call = e->ring.call;
    call_chan = e->ring.channel & 0xff;
    printf("E ring %d %s %s %s\n", call_chan, e->ring.callednum[0] ? e->ring.callednum : "-",
           e->ring.callingnum[0] ? e->ring.callingnum : "-", e->ring.callingname[0] ? e->ring.callingname : "-");
    break;
  case PRI_EVENT_PROCEEDING: printf("E proceeding %d\n", e->proceeding.channel & 0xff); break;
  case PRI_EVENT_RINGING: printf("E ringing %d\n", e->ringing.channel & 0xff); break;
  case PRI_EVENT_ANSWER: printf("E answer %d\n", e->answer.channel & 0xff); break;
  case PRI_EVENT_HANGUP_REQ:
    printf("E hangup_req %d\n", e->hangup.cause);
    pri_hangup(pri, e->hangup.call, e->hangup.cause);
    break;
  case PRI_EVENT_HANGUP:
    printf("E hangup %d\n", e->hangup.cause);
    if (e->hangup.call == call) call = NULL;
    pri_hangup(pri, e->hangup.call, e->hangup.cause);
    break;
  case PRI_EVENT_HANGUP_ACK:
    puts("E hangup_ack");
    if (e->hangup.call == call) call = NULL;
    break;
  case PRI_EVENT_RESTART: printf("E restart %d\n", e->restart.channel & 0xff); break;
  case PRI_EVENT_RESTART_ACK: printf("E restart_ack %d\n", e->restartack.channel & 0xff); break;
  default: printf("E other %d\n", e->e); break;
  }
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s network|cpe euroisdn_e1|ni2\n", argv[0]);
    return 2;
  }
  int node = strcmp(argv[1], "network") == 0 ? PRI_NETWORK : PRI_CPE;
  int sw = strcmp(argv[2], "ni2") == 0 ? PRI_SWITCH_NI2 : PRI_SWITCH_EUROISDN_E1;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) {
    perror("socketpair");
    return 1;
  }
  fcntl(sv[0], F_SETFL, O_NONBLOCK);
  lib_fd = sv[0];
  relay_fd = sv[1];
  pri_set_message(text_line);
  pri_set_error(text_line);
  pri = pri_new_cb(lib_fd, node, sw, io_read, io_write, &lib_fd);
  if (!pri) {
    fputs("pri_new_cb failed\n", stderr);
    return 1;
  }
  pri_set_debug(pri, PRI_DEBUG_Q921_STATE | PRI_DEBUG_Q931_STATE);
  puts("E ready");
  fflush(stdout);
  char line[4096];
  size_t used = 0;
  for (;;) {
    int timeout = -1;
    struct timeval *next = pri_schedule_next(pri);
    if (next) {
      struct timeval now;
      gettimeofday(&now, NULL);
      long ms = (next->tv_sec - now.tv_sec) * 1000 + (next->tv_usec - now.tv_usec) / 1000;
      timeout = ms < 0 ? 0 : (int)ms;
    }
    struct pollfd p[3] = { { lib_fd, POLLIN, 0 }, { relay_fd, POLLIN, 0 }, { 0, POLLIN, 0 } };
    int r = poll(p, 3, timeout);
    if (r < 0 && errno != EINTR) return 1;
    if (p[1].revents & POLLIN) relay_to_test();
    if (p[2].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(0, line + used, sizeof line - 1 - used);
      if (n <= 0) return 0;
      used += (size_t)n;
      line[used] = 0;
      char *nl;
      while ((nl = strchr(line, '\n')) != NULL) {
        *nl = 0;
        command(line);
        size_t rest = used - (size_t)(nl + 1 - line);
        memmove(line, nl + 1, rest);
        used = rest;
        line[used] = 0;
      }
    }
    pri_event *e = (p[0].revents & POLLIN) ? pri_check_event(pri) : NULL;
    if (e) event(e);
    next = pri_schedule_next(pri);
    if (next) {
      struct timeval now;
      gettimeofday(&now, NULL);
      if (timercmp(next, &now, <=)) {
        e = pri_schedule_run(pri);
        if (e) event(e);
      }
    }
  }
}
