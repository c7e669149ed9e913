#include "base/signals.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace sigma {
namespace {
std::atomic<bool> g_stop{false};
int g_pipe[2] = {-1, -1};

void on_signal(int) {
  int saved = errno;
  g_stop.store(true);
  if (g_pipe[1] >= 0) {
    char c = 1;
    [[maybe_unused]] auto n = write(g_pipe[1], &c, 1);
  }
  errno = saved;
}

int g_hup_pipe[2] = {-1, -1};

void on_hup(int) {
  int saved = errno;
  char c = 1;
  [[maybe_unused]] auto n = write(g_hup_pipe[1], &c, 1);  // a full pipe: a reload is pending anyway
  errno = saved;
}
}  // namespace

void install_stop_handlers() {
  if (g_pipe[0] < 0 && pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) g_pipe[0] = g_pipe[1] = -1;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() { return g_stop.load(); }
int stop_fd() { return g_pipe[0]; }
void request_stop() { on_signal(0); }

int install_reload_handler() {
  if (g_hup_pipe[0] >= 0) return g_hup_pipe[0];
  if (pipe2(g_hup_pipe, O_NONBLOCK | O_CLOEXEC) < 0) return -1;
  struct sigaction sa {};
  sa.sa_handler = on_hup;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(SIGHUP, &sa, nullptr) < 0) return -1;
  return g_hup_pipe[0];
}

bool take_reload_request() {
  if (g_hup_pipe[0] < 0) return false;
  bool any = false;
  char buf[64];
  while (read(g_hup_pipe[0], buf, sizeof buf) > 0) any = true;
  return any;
}

}  // namespace sigma
