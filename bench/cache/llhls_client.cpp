// A light LL-HLS viewer, many at once, for bench/cache.sh and bench/soak.sh:
// each viewer keeps one HTTP/1.1 keep-alive connection and does what a
// low-latency player does on one rendition: the plain playlist once, then
// forever a blocking reload for the next part (_HLS_msn=M&_HLS_part=P) and
// a GET of every part the answer lists that it has not fetched yet. One
// thread, epoll, no library.
//
//   llhls_client HOST PORT PLAYLIST_PATH VIEWERS SECONDS [options]
//     --ramp MS        start the viewers evenly over MS ms (default 2000)
//     --watch DIR      the rendition's directory on this machine: the time a
//                      part file appears (inotify, IN_MOVED_TO/IN_CLOSE_WRITE)
//                      is its publication, and delivery = fully received -
//                      published, per part and viewer
//     --warmup MS      latencies counted only after the ramp + MS (default 2000)
//     --plain          a normal/low channel: no blocking reload; the playlist
//                      every --interval ms and its new segments
//     --interval MS    (with --plain, default 1000)
//     --session        viewer i asks under /CH/s/<22-char id i>/ (as after a
//                      master playlist with sessions), CH = PLAYLIST_PATH's
//                      first element
//
// Prints one JSON line: viewers, requests and errors by kind, parts fetched,
// parts published (with --watch), delivery p50/p90/p99/max ms, the window
// measured (unix ms).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
double now_ms_f() {
  return std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Part {
  long msn;
  int idx;  // part index; -1: a whole segment (plain mode)
  std::string uri;
};

// The parts (or, plain, the segments) a media playlist lists, and where
// the next part will be: (msn of the open segment, parts it has so far).
struct Parsed {
  std::vector<Part> parts;
  long next_msn = -1;
  int next_part = 0;
  bool ok = false;
};

Parsed parse_playlist(const std::string& body, bool plain) {
  Parsed p;
  long msn = 0;
  int idx = 0;
  size_t i = 0;
  bool any = false;
  while (i < body.size()) {
    size_t e = body.find('\n', i);
    if (e == std::string::npos) e = body.size();
    std::string line = body.substr(i, e - i);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    i = e + 1;
    if (line.rfind("#EXT-X-MEDIA-SEQUENCE:", 0) == 0) {
      msn = std::atol(line.c_str() + 22);
      any = true;
    } else if (line.rfind("#EXT-X-PART:", 0) == 0) {
      auto u = line.find("URI=\"");
      if (u != std::string::npos) {
        auto q = line.find('"', u + 5);
        if (!plain) p.parts.push_back({msn, idx, line.substr(u + 5, q - u - 5)});
      }
      ++idx;
    } else if (!line.empty() && line[0] != '#') {
      if (plain) p.parts.push_back({msn, -1, line});
      ++msn;
      idx = 0;
    }
  }
  p.next_msn = msn;
  p.next_part = idx;
  p.ok = any;
  return p;
}

enum class Kind { kPlaylist, kBlocking, kPart };

struct Viewer {
  int fd = -1;
  bool connected = false;
  std::string out;
  size_t out_off = 0;
  std::string in;
  Kind kind = Kind::kPlaylist;
  std::string path_prefix;  // "/CH/s/SID/v0/" or "/CH/v0/"
  std::string playlist;     // file name of the playlist
  long last_msn = -1;
  int last_idx = 0;  // last part queued: (last_msn, last_idx)
  long want_msn = 0;  // the next part, not listed yet
  int want_part = 0;
  std::vector<Part> todo;  // parts still to GET
  Part current;
  int64_t next_at = 0;  // plain mode: when to reload
  bool started = false;
  bool in_flight = false;  // a request sent, its answer not read yet
};

struct Stats {
  long requests[3] = {0, 0, 0}, errors[3] = {0, 0, 0}, connects = 0, reconnects = 0, bytes = 0;
  long parts = 0;
  std::vector<double> delivery;
};

struct Ctx {
  sockaddr_in addr{};
  std::string host;
  bool plain = false;
  int interval = 1000;
  int ep = -1;
  Stats st;
  std::unordered_map<std::string, double> published;  // part file -> ms
  long published_in_window = 0, published_total = 0;
  double count_from = 0, count_to = 0;
  int64_t stop_at = 0;
};

void arm(Ctx& c, Viewer& v, uint32_t events) {
  epoll_event e{};
  e.events = events;
  e.data.ptr = &v;
  epoll_ctl(c.ep, EPOLL_CTL_MOD, v.fd, &e);
}

bool open_conn(Ctx& c, Viewer& v) {
  v.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (v.fd < 0) return false;
  int one = 1;
  setsockopt(v.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int r = connect(v.fd, reinterpret_cast<sockaddr*>(&c.addr), sizeof c.addr);
  if (r < 0 && errno != EINPROGRESS) {
    close(v.fd);
    v.fd = -1;
    return false;
  }
  epoll_event e{};
  e.events = EPOLLOUT;
  e.data.ptr = &v;
  epoll_ctl(c.ep, EPOLL_CTL_ADD, v.fd, &e);
  v.connected = false;
  ++c.st.connects;
  return true;
}

void send_request(Ctx& c, Viewer& v, Kind k, const std::string& target) {
  v.kind = k;
  v.out = "GET " + target + " HTTP/1.1\r\nHost: " + c.host + "\r\nUser-Agent: sigma-llhls-load\r\n\r\n";
  v.out_off = 0;
  v.in.clear();
  v.in_flight = true;
  ++c.st.requests[static_cast<int>(k)];
  if (v.fd < 0 && !open_conn(c, v)) {
    ++c.st.errors[static_cast<int>(k)];
    return;
  }
  if (v.connected) arm(c, v, EPOLLOUT);
}

void next_request(Ctx& c, Viewer& v) {
  if (now_ms() >= c.stop_at) return;
  if (!v.todo.empty()) {
    v.current = v.todo.front();
    v.todo.erase(v.todo.begin());
    return send_request(c, v, Kind::kPart, v.path_prefix + v.current.uri);
  }
  if (v.last_msn < 0) return send_request(c, v, Kind::kPlaylist, v.path_prefix + v.playlist);
  if (c.plain) {
    v.next_at = now_ms() + c.interval;  // the timer loop sends it
    return;
  }
  // The part after the last the playlist listed.
  send_request(c, v, Kind::kBlocking,
               v.path_prefix + v.playlist + "?_HLS_msn=" + std::to_string(v.want_msn) +
                   "&_HLS_part=" + std::to_string(v.want_part));
}

bool after(long m, int i, long m0, int i0) { return m > m0 || (m == m0 && i > i0); }

void on_playlist(Ctx& c, Viewer& v, const std::string& body, bool first) {
  Parsed p = parse_playlist(body, c.plain);
  if (!p.ok) {
    ++c.st.errors[static_cast<int>(v.kind)];
    v.last_msn = -1;
    return;
  }
  v.want_msn = p.next_msn;
  v.want_part = p.next_part;
  if (first) {
    // Join at the live edge: what is listed is old; start after its last.
    if (!p.parts.empty()) {
      v.last_msn = p.parts.back().msn;
      v.last_idx = p.parts.back().idx;
    } else {
      v.last_msn = p.next_msn;
      v.last_idx = -1;
    }
    return;
  }
  for (auto& part : p.parts)
    if (after(part.msn, part.idx, v.last_msn, v.last_idx)) v.todo.push_back(part);
  if (!v.todo.empty()) {
    v.last_msn = v.todo.back().msn;
    v.last_idx = v.todo.back().idx;
  }
}

void on_response(Ctx& c, Viewer& v, int status, const std::string& body) {
  int k = static_cast<int>(v.kind);
  v.in_flight = false;
  c.st.bytes += static_cast<long>(body.size());
  if (status != 200) {
    ++c.st.errors[k];
    if (v.kind == Kind::kPart) return next_request(c, v);
    // Start again from the plain playlist, half a second later (a channel
    // that is down is not asked in a tight loop).
    v.last_msn = -1;
    v.todo.clear();
    v.out.clear();
    v.next_at = now_ms() + 500;
    return;
  }
  if (v.kind == Kind::kPart) {
    ++c.st.parts;
    double t = now_ms_f();
    auto name = v.current.uri.substr(v.current.uri.rfind('/') + 1);
    auto it = c.published.find(name);
    if (it != c.published.end() && it->second >= c.count_from && it->second <= c.count_to)
      c.st.delivery.push_back(t - it->second);
  } else {
    on_playlist(c, v, body, v.kind == Kind::kPlaylist);
  }
  next_request(c, v);
}

void reset_conn(Ctx& c, Viewer& v) {
  if (v.fd >= 0) {
    epoll_ctl(c.ep, EPOLL_CTL_DEL, v.fd, nullptr);
    close(v.fd);
  }
  v.fd = -1;
  v.connected = false;
}

// A broken connection fails the request in flight; the viewer reconnects.
void on_readable(Ctx& c, Viewer& v) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(v.fd, buf, sizeof buf);
    if (n > 0) {
      v.in.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (!v.in_flight) {  // an idle keep-alive connection closed: the next request opens another
      reset_conn(c, v);
      return;
    }
    // closed or error: the request in flight fails, a new connection next
    ++c.st.errors[static_cast<int>(v.kind)];
    ++c.st.reconnects;
    v.in_flight = false;
    reset_conn(c, v);
    if (v.kind != Kind::kPart) v.last_msn = -1;
    v.todo.clear();
    return next_request(c, v);
  }
  for (;;) {
    auto h = v.in.find("\r\n\r\n");
    if (h == std::string::npos) return;
    int status = std::atoi(v.in.c_str() + 9);
    long len = -1;
    bool close_after = false;
    std::string head = v.in.substr(0, h);
    for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (auto p = head.find("\r\ncontent-length:"); p != std::string::npos) len = std::atol(head.c_str() + p + 17);
    if (head.find("\r\nconnection: close") != std::string::npos) close_after = true;
    if (len < 0) len = 0;  // every answer here has a length (no chunked)
    if (v.in.size() < h + 4 + static_cast<size_t>(len)) return;
    std::string body = v.in.substr(h + 4, static_cast<size_t>(len));
    v.in.erase(0, h + 4 + static_cast<size_t>(len));
    if (close_after) reset_conn(c, v);
    on_response(c, v, status, body);
    if (v.fd < 0 || v.in.empty()) return;
  }
}

void on_writable(Ctx& c, Viewer& v) {
  if (!v.connected) {
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(v.fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) {
      ++c.st.errors[static_cast<int>(v.kind)];
      v.in_flight = false;
      reset_conn(c, v);
      v.next_at = now_ms() + 200;  // retry soon
      v.out.clear();
      return;
    }
    v.connected = true;
  }
  while (v.out_off < v.out.size()) {
    ssize_t n = write(v.fd, v.out.data() + v.out_off, v.out.size() - v.out_off);
    if (n < 0) {
      if (errno == EAGAIN) return;
      reset_conn(c, v);
      return;
    }
    v.out_off += static_cast<size_t>(n);
  }
  arm(c, v, EPOLLIN);
}

// 22 characters of [A-Za-z0-9_-], distinct per viewer and per playlist
// path (splitmix64 of both: an LCG's low bits would repeat after 64).
std::string session_id(const std::string& path, int i) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  uint64_t x = std::hash<std::string>{}(path) ^ (static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull);
  auto next = [&x] {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  std::string s = "load";
  while (s.size() < 22) {
    uint64_t z = next();
    for (int k = 0; k < 10 && s.size() < 22; ++k, z >>= 6) s += a[z & 63];
  }
  return s;
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return -1;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[k];
}

int usage() {
  std::fprintf(stderr,
               "usage: llhls_client HOST PORT PLAYLIST_PATH VIEWERS SECONDS [--ramp MS] [--watch DIR] "
               "[--warmup MS] [--plain] [--interval MS] [--session]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) return usage();
  Ctx c;
  c.host = argv[1];
  int port = std::atoi(argv[2]);
  std::string path = argv[3];
  int n = std::atoi(argv[4]);
  double secs = std::atof(argv[5]);
  int ramp = 2000, warmup = 2000;
  std::string watch;
  bool session = false;
  for (int i = 6; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--ramp") ramp = std::atoi(val());
    else if (a == "--watch") watch = val();
    else if (a == "--warmup") warmup = std::atoi(val());
    else if (a == "--plain") c.plain = true;
    else if (a == "--interval") c.interval = std::atoi(val());
    else if (a == "--session") session = true;
    else return usage();
  }
  if (n <= 0 || secs <= 0 || port <= 0 || path.empty() || path[0] != '/') return usage();
  c.addr.sin_family = AF_INET;
  c.addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, c.host.c_str(), &c.addr.sin_addr) != 1) {
    std::fprintf(stderr, "llhls_client: HOST must be an IPv4 address: %s\n", c.host.c_str());
    return 2;
  }
  c.ep = epoll_create1(EPOLL_CLOEXEC);
  int in = -1;
  if (!watch.empty()) {
    in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (in < 0 || inotify_add_watch(in, watch.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
      std::fprintf(stderr, "llhls_client: watch %s: %s\n", watch.c_str(), std::strerror(errno));
      return 1;
    }
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.ptr = nullptr;
    epoll_ctl(c.ep, EPOLL_CTL_ADD, in, &e);
  }
  auto slash = path.rfind('/');
  std::string dir = path.substr(0, slash + 1), file = path.substr(slash + 1);
  std::string ch = path.substr(0, path.find('/', 1));  // "/CH"
  std::vector<Viewer> vs(static_cast<size_t>(n));
  int64_t t0 = now_ms();
  c.stop_at = t0 + static_cast<int64_t>(secs * 1000);
  c.count_from = static_cast<double>(t0 + ramp + warmup);
  c.count_to = static_cast<double>(c.stop_at) - 1500;  // parts published late may be cut off by the stop
  for (int i = 0; i < n; ++i) {
    auto& v = vs[static_cast<size_t>(i)];
    v.playlist = file;
    v.path_prefix = session ? ch + "/s/" + session_id(path, i) + dir.substr(ch.size()) : dir;
    v.next_at = t0 + static_cast<int64_t>(ramp) * i / n;
  }
  std::vector<epoll_event> evs(1024);
  for (;;) {
    int64_t now = now_ms();
    if (now >= c.stop_at) break;
    for (auto& v : vs) {
      if (v.next_at && v.next_at <= now) {
        v.next_at = 0;
        v.started = true;
        if (v.out.empty() || v.out_off >= v.out.size() || v.fd < 0) {
          v.out.clear();
          if (c.plain && v.last_msn >= 0)
            send_request(c, v, Kind::kBlocking, v.path_prefix + v.playlist);  // a reload
          else
            next_request(c, v);
        }
      }
    }
    int k = epoll_wait(c.ep, evs.data(), static_cast<int>(evs.size()), 5);
    for (int j = 0; j < k; ++j) {
      if (!evs[j].data.ptr) {
        alignas(inotify_event) char buf[8192];
        ssize_t r;
        while ((r = read(in, buf, sizeof buf)) > 0) {
          double t = now_ms_f();
          for (char* p = buf; p < buf + r;) {
            auto* ev = reinterpret_cast<inotify_event*>(p);
            if (ev->len) {
              std::string name = ev->name;
              bool is_media = name.size() > 4 && (name.ends_with(".m4s") || name.ends_with(".ts"));
              bool temp = name.find(".tmp") != std::string::npos || name[0] == '.';
              if (is_media && !temp && !c.published.count(name)) {
                c.published[name] = t;
                bool part = std::count(name.begin(), name.end(), '.') >= 2;
                if (part != c.plain) {
                  ++c.published_total;
                  if (t >= c.count_from && t <= c.count_to) ++c.published_in_window;
                }
              }
            }
            p += sizeof(inotify_event) + ev->len;
          }
        }
        continue;
      }
      auto& v = *static_cast<Viewer*>(evs[j].data.ptr);
      if (v.fd < 0) continue;
      if (evs[j].events & EPOLLOUT) on_writable(c, v);
      else if (evs[j].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c, v);
    }
  }
  auto& d = c.st.delivery;
  std::sort(d.begin(), d.end());
  double sum = 0;
  for (double x : d) sum += x;
  std::printf(
      "{\"viewers\":%d,\"seconds\":%.1f,\"requests\":{\"playlist\":%ld,\"blocking\":%ld,\"parts\":%ld},"
      "\"errors\":{\"playlist\":%ld,\"blocking\":%ld,\"parts\":%ld},\"connects\":%ld,\"reconnects\":%ld,"
      "\"bytes\":%ld,\"parts_fetched\":%ld,\"published_total\":%ld,\"published_in_window\":%ld,\"delivered_in_window\":%zu,"
      "\"delivery_ms\":{\"mean\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
      "\"window_unix_ms\":[%.0f,%.0f]}\n",
      n, secs, c.st.requests[0], c.st.requests[1], c.st.requests[2], c.st.errors[0], c.st.errors[1], c.st.errors[2],
      c.st.connects, c.st.reconnects, c.st.bytes, c.st.parts, c.published_total, c.published_in_window, d.size(),
      d.empty() ? -1.0 : sum / static_cast<double>(d.size()), pct(d, 50), pct(d, 90), pct(d, 99),
      d.empty() ? -1.0 : d.back(), c.count_from, c.count_to);
  return 0;
}
