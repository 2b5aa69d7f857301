/*
 * fanout-reader PORT CHANNEL COUNT: COUNT plain subscriber sockets on one Redis channel, for
 * bench/discovery.ts. They stand in for one subscription per node, so that Redis writes every
 * message to as many sockets as a real 1 000-node grid would make it write to.
 *
 * Why C: a real node reads its one socket on its own CPU. Here one process reads all of them on the
 * same 2 cores as Redis and the views, and a Node.js process spends ~7 us per socket read (~7 ms per
 * message for 1 000 sockets), as much CPU as Redis spends on the fan-out itself. An epoll loop that
 * only looks for the watched message spends about a tenth of that, so the cores go to what is being
 * measured.
 *
 * Protocol, one line each way, the same as the Node.js workers':
 *   stdin   "watch\t<id>\t<kind>\t<needle>\t<needle>"   time the first read holding both needles
 *           "exit"
 *   stdout  {"ev":"fanout","count":N}                   every socket subscribed
 *           {"ev":"watching","id":"<id>"}
 *           {"ev":"obs","role":"sockets","id":...,"kind":...,"times":[ms since the epoch, ...]}
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A message split over two reads is found in the end of the previous read plus the next one. */
#define TAIL 512
#define CHUNK 65536

struct sub {
  int fd;
  size_t tail_len;
  char tail[TAIL];
};

static struct sub *subs;
static int count;
static double *times;
static int left = 0;
static char watch_id[256], watch_kind[32], needle[2][512];
static int watching = 0;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "fanout-reader: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int subscribe(int port, const char *channel) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char cmd[1024];
  int n = snprintf(cmd, sizeof cmd, "*2\r\n$9\r\nSUBSCRIBE\r\n$%zu\r\n%s\r\n", strlen(channel), channel);
  if (write(fd, cmd, n) != n) die("write");
  /* The confirmation, a push ending in the subscription count: "...subscribe...\r\n:1\r\n". */
  char buf[1024];
  size_t got = 0;
  while (got < 2 || !memmem(buf, got, "\r\n:", 3) || buf[got - 1] != '\n') {
    ssize_t r = read(fd, buf + got, sizeof buf - got);
    if (r <= 0) die("read the subscription's confirmation");
    got += r;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

static void found(int i) {
  times[i] = now_ms();
  if (--left > 0) return;
  watching = 0;
  printf("{\"ev\":\"obs\",\"role\":\"sockets\",\"id\":\"%s\",\"kind\":\"%s\",\"times\":[", watch_id, watch_kind);
  for (int k = 0; k < count; k++) printf(k ? ",%.3f" : "%.3f", times[k]);
  printf("]}\n");
  fflush(stdout);
}

static void on_readable(int i) {
  static char buf[TAIL + CHUNK];
  struct sub *s = &subs[i];
  for (;;) {
    memcpy(buf, s->tail, s->tail_len);
    ssize_t r = read(s->fd, buf + s->tail_len, CHUNK);
    if (r == 0) {
      fprintf(stderr, "fanout-reader: Redis closed a subscriber socket\n");
      exit(1);
    }
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      die("read");
    }
    size_t len = s->tail_len + r;
    if (watching && times[i] == 0 && memmem(buf, len, needle[0], strlen(needle[0])) && memmem(buf, len, needle[1], strlen(needle[1]))) {
      found(i);
      s->tail_len = 0;
    } else {
      s->tail_len = len < TAIL ? len : TAIL;
      memmove(s->tail, buf + len - s->tail_len, s->tail_len);
    }
  }
}

/* One command line from the parent; fields are tab-separated and hold no tabs. */
static void on_command(char *line) {
  if (strcmp(line, "exit") == 0) exit(0);
  char *f[5];
  int n = 0;
  for (char *p = strtok(line, "\t"); p && n < 5; p = strtok(NULL, "\t")) f[n++] = p;
  if (n != 5 || strcmp(f[0], "watch") != 0) {
    fprintf(stderr, "fanout-reader: bad command\n");
    exit(2);
  }
  snprintf(watch_id, sizeof watch_id, "%s", f[1]);
  snprintf(watch_kind, sizeof watch_kind, "%s", f[2]);
  snprintf(needle[0], sizeof needle[0], "%s", f[3]);
  snprintf(needle[1], sizeof needle[1], "%s", f[4]);
  memset(times, 0, sizeof(double) * count);
  for (int i = 0; i < count; i++) subs[i].tail_len = 0;
  left = count;
  watching = 1;
  printf("{\"ev\":\"watching\",\"id\":\"%s\"}\n", watch_id);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: fanout-reader PORT CHANNEL COUNT\n");
    return 2;
  }
  int port = atoi(argv[1]);
  count = atoi(argv[3]);
  subs = calloc(count, sizeof *subs);
  times = calloc(count, sizeof *times);
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  for (int i = 0; i < count; i++) {
    subs[i].fd = subscribe(port, argv[2]);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, subs[i].fd, &ev) < 0) die("epoll_ctl");
  }
  struct epoll_event in = {.events = EPOLLIN, .data.u32 = (unsigned)count};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in) < 0) die("epoll_ctl stdin");
  printf("{\"ev\":\"fanout\",\"count\":%d}\n", count);
  fflush(stdout);

  static char line[4096];
  size_t line_len = 0;
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int k = 0; k < n; k++) {
      unsigned i = evs[k].data.u32;
      if (i < (unsigned)count) {
        on_readable(i);
        continue;
      }
      ssize_t r = read(0, line + line_len, sizeof line - 1 - line_len);
      if (r <= 0) return 0; /* the parent is gone */
      line_len += r;
      char *nl;
      while ((nl = memchr(line, '\n', line_len))) {
        *nl = 0;
        on_command(line);
        size_t rest = line_len - (nl + 1 - line);
        memmove(line, nl + 1, rest);
        line_len = rest;
      }
      if (line_len == sizeof line - 1) line_len = 0;
    }
  }
}
