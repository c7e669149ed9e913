#include "supervisor/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sigma::supervisor {
namespace {

// Pipe buffer for the FIFOs between stages: at a few Mbit/s, 1 MiB holds
// a second or two of media while a restarted reader comes back. Linux caps
// unprivileged growth at /proc/sys/fs/pipe-max-size (1 MiB by default).
constexpr int kFifoBufferBytes = 1 << 20;

// Moves fd to a number >= 5 so that placing the child's fds 0-4 cannot
// clobber it. Async-signal-safe; used between fork and exec.
int lift(int fd, bool cloexec) {
  if (fd < 0 || fd >= 5) return fd;
  return fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, 5);
}

[[noreturn]] void child_fail(int err_fd) {
  int e = errno;
  [[maybe_unused]] ssize_t n = write(err_fd, &e, sizeof e);
  _exit(127);
}

}  // namespace

Result<pid_t> spawn_child(const std::vector<std::string>& argv, const ChildFds& fds) {
  if (argv.empty()) return usage_error("empty command");
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return errno_error("pipe", errno);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(err_pipe[0]);
    close(err_pipe[1]);
    return errno_error("fork " + argv[0], e);
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    int errfd = lift(err_pipe[1], true);
    setsid();
    // If the supervisor is killed outright, its stages end too (SIGTERM:
    // cleanly, playlists closed) instead of running on unsupervised.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(111);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig)
      if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);

    int src[5] = {fds.in, fds.out, fds.err, fds.ready, fds.events};
    for (int t = 0; t < 5; ++t) {
      if (src[t] < 0 && t <= 1) src[t] = open("/dev/null", t == 0 ? O_RDONLY : O_WRONLY);
      if (src[t] < 0 && t <= 1) child_fail(errfd);
      if (src[t] >= 0) src[t] = lift(src[t], false);
      if (src[t] < 0 && t <= 2) child_fail(errfd);
    }
    for (int t = 0; t < 5; ++t) {
      if (src[t] >= 0) {
        if (dup2(src[t], t) < 0) child_fail(errfd);
      } else {
        close(t);
      }
    }
    // Whatever else is open (inherited by the supervisor itself, say from
    // systemd or a test harness) must not reach the stage.
    if (close_range(5, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
      for (int fd = 5; fd < 4096; ++fd) fcntl(fd, F_SETFD, FD_CLOEXEC);
    execvp(cargv[0], cargv.data());
    child_fail(errfd);
  }
  close(err_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(err_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(err_pipe[0]);
  if (n > 0) {
    // exec failed: the child is gone already; reap it here so it is never
    // mistaken for a stage death.
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    Status st = errno_error("execute " + argv[0], child_errno);
    if (child_errno == ENOENT || child_errno == EACCES || child_errno == ENOEXEC || child_errno == ENOTDIR)
      return usage_error(st.message());
    return st;
  }
  return pid;
}

void signal_group(pid_t pgid, int sig) {
  if (pgid > 1) kill(-pgid, sig);
}

Status make_pipe(int& read_end, int& write_end) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe", errno);
  fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
  read_end = p[0];
  write_end = p[1];
  return {};
}

Status make_events_stdin(int& read_end, int& write_end) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return errno_error("pipe", errno);
  fcntl(p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_NONBLOCK);
  fcntl(p[1], F_SETPIPE_SZ, kFifoBufferBytes);  // best effort
  read_end = p[0];
  write_end = p[1];
  return {};
}

Status ensure_fifo(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (S_ISFIFO(st.st_mode)) return {};
    return system_error("FIFO " + path + ": exists and is not a FIFO");
  }
  if (mkfifo(path.c_str(), 0600) != 0 && errno != EEXIST) return errno_error("mkfifo " + path, errno);
  return {};
}

Result<int> hold_fifo(const std::string& path) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return errno_error("open FIFO " + path, errno);
  fcntl(fd, F_SETPIPE_SZ, kFifoBufferBytes);  // best effort
  return fd;
}

Result<int> open_fifo_writer(const std::string& path) {
  // Does not block: the supervisor's held descriptor is a reader.
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return errno_error("open FIFO " + path + " for writing", errno);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

Result<int> open_fifo_reader(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return errno_error("open FIFO " + path + " for reading", errno);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace sigma::supervisor
