/*
 * loadgen: drives one HTTP/1.1 server on 127.0.0.1 at a fixed request rate and prints latency
 * percentiles as one JSON line. Built by bench/_loadgen.ts, which also writes its input.
 *
 * Why not the Node benchmark process: on this two-core machine its own event loop (timers,
 * promises, the HTTP parser, GC) added about a millisecond to every p99 it measured. A bare
 * node:http server answered a small compiled client with p99 0.2-0.5 ms and the Node client with
 * 1.2-1.6 ms. Go's net/http client was tried too: its sleeps wake through the runtime's network
 * poller (millisecond resolution) and each request hops between goroutines, p50 0.3 ms over the
 * same server. This is one thread, one epoll set and keep-alive sockets: a client that costs
 * tens of microseconds, so the figures are the server's.
 *
 * Open loop, as bench/_fixed-rate.ts: request i is due at start + i/rate whatever happened to
 * earlier ones, and its latency is counted from when it was due, so a stall shows in the tail
 * instead of delaying the requests behind it. Requests due while every socket is busy wait in a
 * queue (their wait counts) and new sockets open up to the limit.
 *
 * usage: loadgen PORT RATE SECONDS WARMUP_SECONDS MAX_CONNECTIONS REQUESTS_FILE
 * REQUESTS_FILE: raw HTTP/1.1 requests, each preceded by its length as a 4-byte little-endian
 * integer; request i is the (i mod n)-th. Only 200 responses with a Content-Length count as success
 * (Shepherd's servers frame every response that way); anything else is an error, and the first
 * one's text is printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct blob { char *data; size_t len; };
struct conn {
  int fd;
  long request; /* index in flight, -1 when idle */
  char *buf;
  size_t len, cap, need; /* need: whole response length once the headers are read, else 0 */
  int closing;           /* the response said Connection: close */
};

static struct blob *requests;
static size_t nrequests;
static struct conn *conns;
static int nconns, maxconns, epfd, port; /* nconns: open sockets; a closed slot has fd -1 */
static double *latencies, start_ns, interval_ns;
static long total, errors;
static char first_error[512];

static void die(const char *what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(2);
}

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static double due_ns(long i) { return start_ns + i * interval_ns; }

static void record_error(const char *text) {
  errors++;
  if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s", text);
}

static void read_requests(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) die(path);
  size_t cap = 16;
  requests = malloc(cap * sizeof *requests);
  uint32_t len;
  while (fread(&len, 4, 1, f) == 1) {
    if (nrequests == cap) requests = realloc(requests, (cap *= 2) * sizeof *requests);
    char *data = malloc(len);
    if (fread(data, 1, len, f) != len) die("truncated requests file");
    requests[nrequests++] = (struct blob){data, len};
  }
  fclose(f);
  if (nrequests == 0) {
    fprintf(stderr, "loadgen: %s holds no requests\n", path);
    exit(2);
  }
}

static struct conn *open_conn(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  struct conn *c = conns;
  while (c->fd >= 0) c++;
  nconns++;
  if (!c->buf) c->buf = malloc(c->cap = 65536);
  c->fd = fd;
  c->request = -1;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  return c;
}

static void close_conn(struct conn *c) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  c->request = -1;
  nconns--;
}

/* False when the socket failed (the server closed it): the request is then an error. */
static int send_on(struct conn *c, long i) {
  struct blob *r = &requests[i % nrequests];
  c->request = i;
  c->len = c->need = 0;
  c->closing = 0;
  /* Requests are a few kilobytes and the socket buffer is empty: the first write sends them whole. */
  size_t sent = 0;
  while (sent < r->len) {
    ssize_t n = write(c->fd, r->data + sent, r->len - sent);
    if (n < 0 && errno != EINTR && errno != EAGAIN) {
      record_error(strerror(errno));
      return 0;
    }
    if (n > 0) sent += n;
  }
  return 1;
}

/* The response's total length once its headers are in, 0 before; -1 if it cannot be framed. */
static long response_length(struct conn *c) {
  char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
  if (!end) return 0;
  size_t header = end + 4 - c->buf;
  long length = -1;
  for (char *line = memchr(c->buf, '\n', header); line && line < end; line = memchr(line + 1, '\n', end - line)) {
    if (strncasecmp(line + 1, "content-length:", 15) == 0) length = header + strtol(line + 16, NULL, 10);
    if (strncasecmp(line + 1, "connection: close", 17) == 0) c->closing = 1;
  }
  return length;
}

/* Reads what is there; true once the response in flight is whole (or failed). */
static int on_readable(struct conn *c) {
  for (;;) {
    if (c->len == c->cap) c->buf = realloc(c->buf, c->cap *= 2);
    ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return 0;
    if (n <= 0) {
      record_error(n == 0 ? "the server closed a keep-alive connection" : strerror(errno));
      return -1;
    }
    c->len += n;
    if (!c->need) {
      long need = response_length(c);
      if (need < 0) {
        record_error("a response without Content-Length");
        return -1;
      }
      c->need = need;
    }
    if (c->need && c->len >= c->need) {
      if (c->len > c->need) {
        record_error("more bytes than the response's Content-Length");
        return -1;
      }
      if (c->len < 12 || memcmp(c->buf + 9, "200", 3) != 0) {
        char text[400];
        snprintf(text, sizeof text, "%.*s", (int)(c->len < 399 ? c->len : 399), c->buf);
        for (char *p = text; *p; p++) if (*p == '\r' || *p == '\n') *p = ' ';
        record_error(text);
      }
      return 1;
    }
  }
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double percentile(double *sorted, long n, double q) {
  long i = (long)ceil(q * n) - 1;
  return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: loadgen PORT RATE SECONDS WARMUP_SECONDS MAX_CONNECTIONS REQUESTS_FILE\n");
    return 2;
  }
  port = atoi(argv[1]);
  double rate = atof(argv[2]), seconds = atof(argv[3]), warmup = atof(argv[4]);
  maxconns = atoi(argv[5]);
  if (port <= 0 || rate <= 0 || seconds <= 0 || warmup < 0 || maxconns <= 0 || lround(rate * seconds) < 1) {
    fprintf(stderr, "loadgen: PORT, RATE, SECONDS and MAX_CONNECTIONS must be positive, WARMUP_SECONDS zero or more\n");
    return 2;
  }
  read_requests(argv[6]);
  long skipped = lround(rate * warmup);
  total = skipped + lround(rate * seconds);
  latencies = calloc(total, sizeof *latencies);
  long *queue = malloc(total * sizeof *queue), qhead = 0, qtail = 0;
  conns = calloc(maxconns, sizeof *conns);
  for (int k = 0; k < maxconns; k++) conns[k].fd = -1;
  struct conn **idle = malloc(maxconns * sizeof *idle);
  int nidle = 0;
  if ((epfd = epoll_create1(0)) < 0) die("epoll_create1");
  signal(SIGPIPE, SIG_IGN); /* a write to a socket the server closed fails instead of killing us */
  /* The kernel may fire a sleeper's timer up to its slack late (50 us by default), and that
     lateness would count in every latency: ask for none. */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  idle[nidle++] = open_conn(); /* connected before the clock starts */

  interval_ns = 1e9 / rate;
  start_ns = now_ns() + 20e6;
  long next = 0, done = 0;
  struct epoll_event events[64];
  while (done < total) {
    double now = now_ns();
    while (next < total && due_ns(next) <= now) queue[qtail++] = next++;
    while (qhead < qtail && (nidle > 0 || nconns < maxconns)) {
      struct conn *c = nidle > 0 ? idle[--nidle] : open_conn();
      long i = queue[qhead++];
      if (!send_on(c, i)) {
        latencies[i] = (now_ns() - due_ns(i)) / 1e6;
        done++;
        close_conn(c);
      }
    }
    /* Sleep in epoll until the next due time, to the microsecond. */
    struct timespec timeout = {0, 0}, *wait = NULL;
    if (next < total) {
      double left = due_ns(next) - now_ns();
      if (left < 0) left = 0;
      timeout.tv_sec = (time_t)(left / 1e9);
      timeout.tv_nsec = (long)fmod(left, 1e9);
      wait = &timeout;
    }
    int n = epoll_pwait2(epfd, events, 64, wait, NULL);
    if (n < 0 && errno != EINTR) die("epoll_pwait2");
    for (int k = 0; k < n; k++) {
      struct conn *c = events[k].data.ptr;
      if (c->request < 0) {
        /* An idle socket is readable only when the server closed it (its keep-alive timeout):
           drop it, or epoll reports it again at once, forever. */
        for (int j = 0; j < nidle; j++)
          if (idle[j] == c) idle[j] = idle[--nidle];
        close_conn(c);
        continue;
      }
      int state = on_readable(c);
      if (state == 0) continue;
      latencies[c->request] = (now_ns() - due_ns(c->request)) / 1e6;
      done++;
      if (state < 0 || c->closing) { /* the socket is done: close it, another opens when needed */
        close_conn(c);
        continue;
      }
      c->request = -1;
      idle[nidle++] = c; /* the next turn of the loop sends what is queued */
    }
  }
  double elapsed = (now_ns() - due_ns(skipped)) / 1e9;
  long measured = total - skipped;
  double *m = latencies + skipped;
  qsort(m, measured, sizeof *m, cmp);
  printf("{\"p50\":%.4f,\"p99\":%.4f,\"p999\":%.4f,\"max\":%.4f,\"count\":%ld,\"achievedRps\":%.1f,\"errors\":%ld,\"firstError\":\"",
         percentile(m, measured, 0.5), percentile(m, measured, 0.99), percentile(m, measured, 0.999), m[measured - 1],
         measured, measured / elapsed, errors);
  for (char *p = first_error; *p; p++) {
    if (*p == '"' || *p == '\\') putchar('\\');
    if ((unsigned char)*p >= 0x20) putchar(*p);
  }
  printf("\"}\n");
  return 0;
}
