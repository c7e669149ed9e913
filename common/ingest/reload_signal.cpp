#include "ingest/reload_signal.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace sigma::ingest {
namespace {

int g_pipe[2] = {-1, -1};

void on_hup(int) {
  int saved = errno;
  char c = 1;
  [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &c, 1);  // full pipe: a reload is pending anyway
  errno = saved;
}

}  // namespace

int install_reload_handler() {
  if (g_pipe[0] >= 0) return g_pipe[0];
  if (::pipe2(g_pipe, O_NONBLOCK | O_CLOEXEC) < 0) return -1;
  struct sigaction sa{};
  sa.sa_handler = on_hup;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (::sigaction(SIGHUP, &sa, nullptr) < 0) return -1;
  return g_pipe[0];
}

bool take_reload_request() {
  if (g_pipe[0] < 0) return false;
  bool any = false;
  char buf[64];
  while (::read(g_pipe[0], buf, sizeof buf) > 0) any = true;
  return any;
}

}  // namespace sigma::ingest
