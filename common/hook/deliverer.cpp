#include "hook/deliverer.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>

#include "base/log.h"
#include "base/time.h"

extern char** environ;

namespace sigma::hook {
namespace {

struct HttpTransfer {
  Job job;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {0};
  int64_t retry_after_ms = -1;
  ~HttpTransfer() {
    if (easy) curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
  }
};

struct ExecChild {
  Job job;
  pid_t pid = -1;
  int stdin_fd = -1;
  size_t written = 0;
  int64_t deadline_ms = 0;
  bool killed = false;
};

size_t discard(char*, size_t size, size_t n, void*) { return size * n; }

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<HttpTransfer*>(user);
  std::string line(data, size * n);
  if (line.size() > 12 && strncasecmp(line.c_str(), "retry-after:", 12) == 0) {
    std::string v = line.substr(12);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.pop_back();
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    t->retry_after_ms = parse_retry_after(v, unix_ms_now());
  }
  return size * n;
}

}  // namespace

int64_t parse_retry_after(const std::string& v, int64_t now_ms) {
  if (v.empty()) return -1;
  bool digits = true;
  for (char c : v) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    if (v.size() > 9) return -1;
    return std::stoll(v) * 1000;
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  struct tm tm {};
  const char* end = strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end) return -1;
  int64_t at = static_cast<int64_t>(timegm(&tm)) * 1000;
  return at > now_ms ? at - now_ms : 0;
}

struct Deliverer::Impl {
  CURLM* multi = nullptr;
  std::list<HttpTransfer> http;
  std::list<ExecChild> execs;

  ~Impl() {
    abandon();
    if (multi) curl_multi_cleanup(multi);
  }

  void abandon() {
    for (auto& t : http) curl_multi_remove_handle(multi, t.easy);
    http.clear();
    for (auto& c : execs) {
      if (c.stdin_fd >= 0) ::close(c.stdin_fd);
      ::kill(-c.pid, SIGKILL);
      int ws;
      ::waitpid(c.pid, &ws, 0);
    }
    execs.clear();
  }

  Status start_http(Job job) {
    http.emplace_back();
    HttpTransfer& t = http.back();
    t.job = std::move(job);
    t.easy = curl_easy_init();
    if (!t.easy) {
      http.pop_back();
      return internal_error("curl_easy_init failed");
    }
    for (const auto& h : t.job.headers) t.headers = curl_slist_append(t.headers, h.c_str());
    t.headers = curl_slist_append(t.headers, "Content-Type: application/json");
    t.headers = curl_slist_append(t.headers, "Expect:");
    CURL* e = t.easy;
    curl_easy_setopt(e, CURLOPT_URL, t.job.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.job.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.job.body.size()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(t.job.timeout_ms));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<int64_t>(t.job.timeout_ms, 10'000)));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    // Certificates are always verified (libcurl's default, set anyway so
    // that no environment can turn it off).
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "sigma-hook");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    CURLMcode mc = curl_multi_add_handle(multi, e);
    if (mc != CURLM_OK) {
      std::string m = curl_multi_strerror(mc);
      http.pop_back();
      return internal_error("curl_multi_add_handle: " + m);
    }
    return {};
  }

  Status start_exec(Job job) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe", errno);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);  // its output joins our log, never our stdout
    // Nothing else of ours (the events fd, the supervisor's pipes, sockets).
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setsigmask(&at, &none);
    std::vector<char*> argv;
    for (auto& a : job.exec) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, argv[0], &fa, &at, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    ::close(p[0]);
    if (rc != 0) {
      ::close(p[1]);
      return errno_error("exec " + job.exec[0], rc);
    }
    ::fcntl(p[1], F_SETFL, O_NONBLOCK);
    execs.emplace_back();
    ExecChild& c = execs.back();
    c.job = std::move(job);
    c.job.body += '\n';
    c.pid = pid;
    c.stdin_fd = p[1];
    c.deadline_ms = monotonic_ms() + c.job.timeout_ms;
    feed(c);
    return {};
  }

  void feed(ExecChild& c) {
    while (c.stdin_fd >= 0 && c.written < c.job.body.size()) {
      ssize_t n = ::write(c.stdin_fd, c.job.body.data() + c.written, c.job.body.size() - c.written);
      if (n > 0) {
        c.written += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        if (n < 0 && errno == EAGAIN) return;
        break;  // EPIPE: it did not read its input; its exit says the rest
      }
    }
    if (c.stdin_fd >= 0) {
      ::close(c.stdin_fd);
      c.stdin_fd = -1;
    }
  }

  void reap(std::vector<JobResult>& done) {
    int64_t now = monotonic_ms();
    for (auto it = execs.begin(); it != execs.end();) {
      ExecChild& c = *it;
      feed(c);
      int ws = 0;
      pid_t r = ::waitpid(c.pid, &ws, WNOHANG);
      if (r == 0) {
        if (now >= c.deadline_ms && !c.killed) {
          ::kill(-c.pid, SIGKILL);
          c.killed = true;
        }
        ++it;
        continue;
      }
      JobResult res;
      res.seq = c.job.seq;
      res.sub = c.job.sub;
      res.channel = c.job.channel;
      res.is_exec = true;
      if (c.killed) {
        res.http_status = -1;
        res.error = "exec " + c.job.exec[0] + ": timed out after " + std::to_string(c.job.timeout_ms) + " ms";
      } else if (r < 0) {
        res.http_status = -1;
        res.error = std::string("waitpid: ") + std::strerror(errno);
      } else if (WIFEXITED(ws)) {
        res.http_status = WEXITSTATUS(ws);
      } else {
        res.http_status = -1;
        res.error = "exec " + c.job.exec[0] + ": killed by signal " + std::to_string(WTERMSIG(ws));
      }
      if (c.stdin_fd >= 0) ::close(c.stdin_fd);
      done.push_back(std::move(res));
      it = execs.erase(it);
    }
  }

  void collect(std::vector<JobResult>& done) {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      HttpTransfer* t = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      JobResult res;
      res.seq = t->job.seq;
      res.sub = t->job.sub;
      res.channel = t->job.channel;
      res.retry_after_ms = t->retry_after_ms;
      if (m->data.result == CURLE_OK) {
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &res.http_status);
      } else {
        std::string why = t->errbuf[0] ? t->errbuf : curl_easy_strerror(m->data.result);
        res.error = "POST " + redact_url(t->job.url) + ": " + why;
      }
      curl_multi_remove_handle(multi, m->easy_handle);
      for (auto it = http.begin(); it != http.end(); ++it)
        if (&*it == t) {
          http.erase(it);
          break;
        }
      done.push_back(std::move(res));
    }
  }
};

Deliverer::Deliverer() : impl_(std::make_unique<Impl>()) {}
Deliverer::~Deliverer() = default;

Result<std::unique_ptr<Deliverer>> Deliverer::create() {
  static bool inited = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!inited) return internal_error("curl_global_init failed");
  std::unique_ptr<Deliverer> d(new Deliverer());
  d->impl_->multi = curl_multi_init();
  if (!d->impl_->multi) return internal_error("curl_multi_init failed");
  return d;
}

Status Deliverer::start(Job job) {
  if (!job.exec.empty()) return impl_->start_exec(std::move(job));
  return impl_->start_http(std::move(job));
}

size_t Deliverer::in_flight() const { return impl_->http.size() + impl_->execs.size(); }

void Deliverer::abandon() { impl_->abandon(); }

Status Deliverer::run(int timeout_ms, const std::vector<int>& extra_fds, std::vector<JobResult>& done) {
  // Children are checked every 50 ms at most while they run.
  if (!impl_->execs.empty()) timeout_ms = std::min(timeout_ms, 50);
  std::vector<curl_waitfd> w;
  for (int fd : extra_fds)
    if (fd >= 0) w.push_back(curl_waitfd{fd, CURL_WAIT_POLLIN, 0});
  int n = 0;
  CURLMcode mc = curl_multi_poll(impl_->multi, w.data(), static_cast<unsigned>(w.size()), timeout_ms, &n);
  if (mc != CURLM_OK && mc != CURLM_UNRECOVERABLE_POLL) return internal_error(std::string("curl_multi_poll: ") + curl_multi_strerror(mc));
  int running = 0;
  mc = curl_multi_perform(impl_->multi, &running);
  if (mc != CURLM_OK) return internal_error(std::string("curl_multi_perform: ") + curl_multi_strerror(mc));
  impl_->collect(done);
  impl_->reap(done);
  return {};
}

}  // namespace sigma::hook
