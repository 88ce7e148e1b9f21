/*
 * mcload: a load generator for memcached's text protocol that measures latency, for the
 * end-to-end harness (benchmarks/e2e/run.sh compiles it into benchmarks/target/mcload).
 *
 *   mcload -s HOST:PORT [-c CONNECTIONS] [-n REQUESTS] [-P PIPELINE] [-t get|set]
 *          [-r KEYSPACE] [-d VALUE_BYTES] [-q]
 *
 * Why: memcslap reports its elapsed time only, and Debian has no memtier_benchmark, so the
 * memcached cases had no latency. This is redis-benchmark's way of measuring, for memcached.
 *
 * How: one thread, epoll over CONNECTIONS non-blocking TCP connections. Each connection sends a
 * batch of PIPELINE requests (fewer for the last batch), reads all their replies, then sends the
 * next batch, until REQUESTS requests in all have been answered. A request's latency runs from the
 * start of its batch's write to the read() that completed its reply (the clock is read once per
 * read(), so replies that arrive together share it). redis-benchmark -P differs in one point: it
 * gives every reply of a batch the time of the batch's first read, so with a pipeline mcload's
 * figures are the same or a little higher. Keys are "key:%012d" of a uniform random number below
 * KEYSPACE, as redis-benchmark's -r draws them (-q: the i-th request takes key i mod KEYSPACE
 * instead, which fills every key of the keyspace exactly). set stores a VALUE_BYTES value of 'x'
 * with flags 0 and exptime 0; get reads one key.
 *
 * Replies: VALUE ... END (a hit; the data is skipped by its length, then its CRLF checked), END
 * (a miss), STORED. SERVER_ERROR, CLIENT_ERROR, ERROR and any other line answer a request too but
 * count as errors. Every latency is kept, in microseconds, in an array allocated before the run;
 * the percentiles are exact (nearest rank) over all of them. The clock runs from the moment every
 * connection is established to the last reply.
 *
 * Output, on standard output at the end, one "name: value" a line (LoadOutput.mcload reads it):
 * the settings, requests, seconds, ops/s, p50 ms, p99 ms, p99.9 ms, max ms, errors, and for get
 * hits and misses; with errors, the first error line too. Exit status: 0; 1 if any reply was an
 * error; 2 on a bad command line or a failed run (a refused or closed connection, a reply that
 * breaks the protocol, 10 s without any reply), which prints "mcload: ..." on standard error and
 * no summary.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_CAPACITY 65536   /* a reply line never comes near it; data is skipped, not held */
#define KEY_FORMAT "key:%012llu"
#define IDLE_LIMIT_MS 10000 /* no reply at all for this long: the server hangs */

enum op { GET, SET };
enum state { LINE, DATA, DATA_END };

struct conn {
  int fd;
  int connected;
  int want_out;           /* EPOLLOUT is registered: a batch waits to be written */
  char *out;
  size_t out_len, out_off;
  char in[IN_CAPACITY];
  size_t in_len, in_off;
  int outstanding;        /* replies still due for the current batch */
  int64_t batch_start_ns;
  enum state state;
  unsigned long long skip; /* data bytes of a VALUE still to skip */
  int saw_value;
};

static const char *server = NULL;
static int connections = 50;
static long long total = 100000;
static int pipeline = 1;
static enum op op = GET;
static unsigned long long keyspace = 10000;
static long value_bytes = 3;
static int sequential = 0;

static int epfd;
static struct conn *conns;
static char *value;
static uint32_t *latencies;
static long long issued, completed, errors, hits, misses;
static unsigned long long next_key, rng;
static char first_error[256];

__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char *format, ...) {
  va_list ap;
  va_start(ap, format);
  fputs("mcload: ", stderr);
  vfprintf(stderr, format, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

__attribute__((noreturn)) static void usage(const char *why) {
  fprintf(stderr, "mcload: %s\nusage: mcload -s HOST:PORT [-c CONNECTIONS] [-n REQUESTS]"
      " [-P PIPELINE] [-t get|set] [-r KEYSPACE] [-d VALUE_BYTES] [-q]\n", why);
  exit(2);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long long number(const char *arg, const char *option, long long min, long long max) {
  char *end;
  errno = 0;
  long long v = strtoll(arg, &end, 10);
  if (errno != 0 || *arg == '\0' || *end != '\0' || v < min || v > max) {
    char why[160];
    snprintf(why, sizeof why, "%s: '%s' is not a number from %lld to %lld", option, arg, min,
        max);
    usage(why);
  }
  return v;
}

/* xorshift64*: fast, and uniform enough to spread keys over a keyspace. */
static unsigned long long random_key(void) {
  if (sequential) {
    return next_key++ % keyspace;
  }
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (rng * 0x2545F4914F6CDD1DULL) % keyspace;
}

static void watch(struct conn *c, int out) {
  struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
    fail("epoll_ctl: %s", strerror(errno));
  }
  c->want_out = out;
}

/* Writes what is left of the batch; registers for EPOLLOUT while the socket's buffer is full. */
static void flush(struct conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!c->want_out) {
          watch(c, 1);
        }
        return;
      }
      if (errno == EINTR) {
        continue;
      }
      fail("write to %s: %s", server, strerror(errno));
    }
    c->out_off += (size_t) w;
  }
  if (c->want_out) {
    watch(c, 0);
  }
}

/* Sends the connection's next batch, if requests are left to issue. */
static void send_batch(struct conn *c) {
  long long k = total - issued;
  if (k <= 0) {
    return;
  }
  if (k > pipeline) {
    k = pipeline;
  }
  size_t len = 0;
  for (long long i = 0; i < k; i++) {
    unsigned long long key = random_key();
    if (op == GET) {
      len += (size_t) sprintf(c->out + len, "get " KEY_FORMAT "\r\n", key);
    } else {
      len += (size_t) sprintf(c->out + len, "set " KEY_FORMAT " 0 0 %ld\r\n", key, value_bytes);
      memcpy(c->out + len, value, (size_t) value_bytes);
      len += (size_t) value_bytes;
      memcpy(c->out + len, "\r\n", 2);
      len += 2;
    }
  }
  issued += k;
  c->outstanding = (int) k;
  c->out_len = len;
  c->out_off = 0;
  c->batch_start_ns = now_ns();
  flush(c);
}

/* One reply has arrived, completed by the read at t_ns. */
static void answered(struct conn *c, int64_t t_ns, int error, const char *line, size_t len) {
  if (c->outstanding == 0) {
    fail("a reply from %s to no request: '%.*s'", server, (int) (len > 80 ? 80 : len), line);
  }
  if (error) {
    if (errors++ == 0) {
      snprintf(first_error, sizeof first_error, "%.*s", (int) (len > 200 ? 200 : len), line);
    }
  }
  int64_t us = (t_ns - c->batch_start_ns + 500) / 1000;
  latencies[completed++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t) us;
  if (--c->outstanding == 0) {
    send_batch(c);
  }
}

static int starts(const char *line, size_t len, const char *word) {
  size_t n = strlen(word);
  return len >= n && memcmp(line, word, n) == 0 && (len == n || line[n] == ' ');
}

static void reply_line(struct conn *c, const char *line, size_t len, int64_t t_ns) {
  if (op == GET && starts(line, len, "VALUE")) {
    /* VALUE <key> <flags> <bytes> [<cas unique>] */
    char header[256];
    unsigned long long bytes;
    snprintf(header, sizeof header, "%.*s", (int) (len > 255 ? 255 : len), line);
    if (sscanf(header, "VALUE %*s %*u %llu", &bytes) != 1) {
      fail("a VALUE line from %s without a length: '%s'", server, header);
    }
    c->saw_value = 1;
    c->skip = bytes;
    c->state = DATA;
  } else if (op == GET && len == 3 && memcmp(line, "END", 3) == 0) {
    if (c->saw_value) {
      hits++;
    } else {
      misses++;
    }
    c->saw_value = 0;
    answered(c, t_ns, 0, line, len);
  } else if (op == SET && len == 6 && memcmp(line, "STORED", 6) == 0) {
    answered(c, t_ns, 0, line, len);
  } else {
    /* SERVER_ERROR, CLIENT_ERROR, ERROR, or a line this request should not get (NOT_STORED) */
    c->saw_value = 0;
    answered(c, t_ns, 1, line, len);
  }
}

/* Parses what the buffer holds: whole lines, and VALUE data by its length. */
static void parse(struct conn *c, int64_t t_ns) {
  for (;;) {
    if (c->state == DATA) {
      size_t avail = c->in_len - c->in_off;
      size_t take = avail < c->skip ? avail : (size_t) c->skip;
      c->in_off += take;
      c->skip -= take;
      if (c->skip > 0) {
        break;
      }
      c->state = DATA_END;
    }
    char *start = c->in + c->in_off;
    char *nl = memmem(start, c->in_len - c->in_off, "\r\n", 2);
    if (nl == NULL) {
      break;
    }
    size_t len = (size_t) (nl - start);
    c->in_off += len + 2;
    if (c->state == DATA_END) {
      if (len != 0) {
        fail("VALUE data from %s longer than its length", server);
      }
      c->state = LINE;
      continue;
    }
    reply_line(c, start, len, t_ns);
  }
  if (c->in_off > 0) {
    memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
    c->in_len -= c->in_off;
    c->in_off = 0;
  }
  if (c->in_len == IN_CAPACITY) {
    fail("a reply line from %s longer than %d bytes", server, IN_CAPACITY);
  }
}

static void readable(struct conn *c) {
  ssize_t r = read(c->fd, c->in + c->in_len, IN_CAPACITY - c->in_len);
  if (r > 0) {
    c->in_len += (size_t) r;
    parse(c, now_ns());
  } else if (r == 0) {
    fail("%s closed a connection after %lld of %lld replies", server, completed, total);
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    fail("read from %s: %s", server, strerror(errno));
  }
}

static void connect_all(void) {
  char host[256];
  const char *colon = strrchr(server, ':');
  if (colon == NULL || colon == server || (size_t) (colon - server) >= sizeof host) {
    usage("-s needs HOST:PORT");
  }
  snprintf(host, sizeof host, "%.*s", (int) (colon - server), server);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *ai;
  int rc = getaddrinfo(host, colon + 1, &hints, &ai);
  if (rc != 0) {
    fail("%s: %s", server, gai_strerror(rc));
  }
  for (int i = 0; i < connections; i++) {
    struct conn *c = &conns[i];
    c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
      fail("socket: %s", strerror(errno));
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      fail("connect to %s: %s", server, strerror(errno));
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
      fail("epoll_ctl: %s", strerror(errno));
    }
    c->want_out = 1;
  }
  freeaddrinfo(ai);
  int pending = connections;
  struct epoll_event events[256];
  while (pending > 0) {
    int n = epoll_wait(epfd, events, 256, IDLE_LIMIT_MS);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      fail("%d of %d connections to %s still not established", pending, connections, server);
    }
    for (int i = 0; i < n; i++) {
      struct conn *c = events[i].data.ptr;
      if (c->connected) {
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        fail("connect to %s: %s", server, strerror(err));
      }
      c->connected = 1;
      watch(c, 0);
      pending--;
    }
  }
}

static int by_value(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *) a;
  uint32_t y = *(const uint32_t *) b;
  return x < y ? -1 : x > y;
}

/* The nearest-rank percentile of the sorted latencies, in ms: per_mille 999 is p99.9. */
static double percentile(long long per_mille) {
  long long rank = (per_mille * completed + 999) / 1000;
  if (rank < 1) {
    rank = 1;
  }
  return latencies[rank - 1] / 1000.0;
}

static void options(int argc, char **argv) {
  int opt;
  while ((opt = getopt(argc, argv, "s:c:n:P:t:r:d:qh")) != -1) {
    switch (opt) {
      case 's': server = optarg; break;
      case 'c': connections = (int) number(optarg, "-c", 1, 100000); break;
      case 'n': total = number(optarg, "-n", 1, 1000000000); break;
      case 'P': pipeline = (int) number(optarg, "-P", 1, 100000); break;
      case 'r': keyspace = (unsigned long long) number(optarg, "-r", 1, 1000000000000LL); break;
      case 'd': value_bytes = (long) number(optarg, "-d", 0, 1048576); break;
      case 'q': sequential = 1; break;
      case 't':
        if (strcmp(optarg, "get") == 0) {
          op = GET;
        } else if (strcmp(optarg, "set") == 0) {
          op = SET;
        } else {
          usage("-t: get or set");
        }
        break;
      case 'h': usage("a memcached load generator that measures latency");
      default: usage("unknown option");
    }
  }
  if (optind < argc) {
    usage("unexpected arguments");
  }
  if (server == NULL) {
    usage("-s HOST:PORT is required");
  }
}

int main(int argc, char **argv) {
  options(argc, argv);
  latencies = malloc((size_t) total * sizeof *latencies);
  conns = calloc((size_t) connections, sizeof *conns);
  value = malloc((size_t) value_bytes + 1);
  if (latencies == NULL || conns == NULL || value == NULL) {
    fail("out of memory for %lld latencies", total);
  }
  memset(value, 'x', (size_t) value_bytes);
  size_t request = 64 + (op == SET ? (size_t) value_bytes : 0);
  for (int i = 0; i < connections; i++) {
    conns[i].out = malloc(request * (size_t) pipeline);
    if (conns[i].out == NULL) {
      fail("out of memory for the requests");
    }
  }
  rng = ((unsigned long long) now_ns() ^ ((unsigned long long) getpid() << 32)) | 1;
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) {
    fail("epoll_create1: %s", strerror(errno));
  }
  connect_all();

  int64_t start = now_ns();
  for (int i = 0; i < connections; i++) {
    send_batch(&conns[i]);
  }
  struct epoll_event events[256];
  while (completed < total) {
    int n = epoll_wait(epfd, events, 256, IDLE_LIMIT_MS);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      fail("epoll_wait: %s", strerror(errno));
    }
    if (n == 0) {
      fail("no reply from %s for %d s (%lld of %lld answered)", server, IDLE_LIMIT_MS / 1000,
          completed, total);
    }
    for (int i = 0; i < n; i++) {
      struct conn *c = events[i].data.ptr;
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        readable(c);
      }
      if ((events[i].events & EPOLLOUT) && c->want_out) {
        flush(c);
      }
    }
  }
  double seconds = (double) (now_ns() - start) / 1e9;
  for (int i = 0; i < connections; i++) {
    close(conns[i].fd);
  }

  qsort(latencies, (size_t) completed, sizeof *latencies, by_value);
  printf("mcload: %s %s, %d connections, pipeline %d, keyspace %llu%s, %ld-byte values\n",
      op == GET ? "get" : "set", server, connections, pipeline, keyspace,
      sequential ? " (sequential)" : "", value_bytes);
  printf("requests: %lld\n", completed);
  printf("seconds: %.6f\n", seconds);
  printf("ops/s: %.2f\n", seconds > 0 ? (double) completed / seconds : 0.0);
  printf("p50 ms: %.3f\n", percentile(500));
  printf("p99 ms: %.3f\n", percentile(990));
  printf("p99.9 ms: %.3f\n", percentile(999));
  printf("max ms: %.3f\n", latencies[completed - 1] / 1000.0);
  printf("errors: %lld\n", errors);
  if (op == GET) {
    printf("hits: %lld\n", hits);
    printf("misses: %lld\n", misses);
  }
  if (errors > 0) {
    printf("first error: %s\n", first_error);
  }
  return errors > 0 ? 1 : 0;
}
