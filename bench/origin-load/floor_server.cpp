// The floor for bench/origin-load.sh's wake-up figure: the least any server
// can do for N held requests on this machine. It accepts N connections and
// reads one request from each, waits (inotify) for a file to be renamed into
// DIR, reads it once, and sends it with a minimal header on every
// connection from two threads: one send(2) per client, nothing else (no
// parsing, no HTTP state, no after-answer work). The load client measures it
// exactly as it measures sigma-origin, in the same run, so the two p99
// figures compare on a shared machine whose speed varies from hour to hour.
//
//   floor_server PORT N DIR FILE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: floor_server PORT N DIR FILE\n");
    return 2;
  }
  int port = std::atoi(argv[1]), n = std::atoi(argv[2]);
  const char *dir = argv[3], *file = argv[4];
  int one = 1;
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(ls, 4096) != 0) {
    std::perror("floor_server: listen");
    return 1;
  }
  int in = inotify_init1(IN_CLOEXEC);
  if (in < 0 || inotify_add_watch(in, dir, IN_MOVED_TO) < 0) {
    std::perror("floor_server: inotify");
    return 1;
  }
  std::vector<int> fds;
  char buf[4096];
  while (static_cast<int>(fds.size()) < n) {
    int fd = accept4(ls, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      std::perror("floor_server: accept");
      return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (read(fd, buf, sizeof buf) <= 0) {  // a readiness probe that connected and left
      close(fd);
      continue;
    }
    fds.push_back(fd);
  }
  if (read(in, buf, sizeof buf) <= 0) return 1;  // the file landed
  std::ifstream f(file, std::ios::binary);
  std::ostringstream body;
  body << f.rdbuf();
  std::string wire = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.apple.mpegurl\r\nContent-Length: " +
                     std::to_string(body.str().size()) + "\r\n\r\n" + body.str();
  auto answer = [&](size_t first) {
    for (size_t i = first; i < fds.size(); i += 2) send(fds[i], wire.data(), wire.size(), MSG_DONTWAIT);
  };
  std::thread second(answer, 1);
  answer(0);
  second.join();
  pause();  // until the bench ends it; the client closes first
}
