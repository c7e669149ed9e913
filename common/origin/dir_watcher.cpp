#include "origin/dir_watcher.h"

#include <dirent.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"

namespace sigma::origin {

namespace {
constexpr uint32_t kDirMask = IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE_SELF | IN_ONLYDIR;

std::string join(const std::string& dir, std::string_view name) {
  return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}
}  // namespace

DirWatcher::DirWatcher(boost::asio::io_context& ioc, std::string root, std::function<void(const std::string&)> on_file,
                       std::function<void()> on_overflow, int max_depth)
    : root_(std::move(root)),
      on_file_(std::move(on_file)),
      on_overflow_(std::move(on_overflow)),
      max_depth_(max_depth),
      stream_(boost::asio::make_strand(ioc)) {}

DirWatcher::~DirWatcher() { stop(); }

Status DirWatcher::start() {
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) return errno_error("inotify_init1", errno);
  boost::system::error_code ec;
  stream_.assign(fd_, ec);
  if (ec) return system_error("inotify: " + ec.message());
  add_tree("", 0);
  read_events();
  return {};
}

void DirWatcher::stop() {
  boost::system::error_code ec;
  if (stream_.is_open()) stream_.close(ec);  // closes fd_
  fd_ = -1;
}

void DirWatcher::add_tree(const std::string& rel, int depth) {
  std::string path = rel.empty() ? root_ : root_ + "/" + rel;
  int wd = ::inotify_add_watch(fd_, path.c_str(), kDirMask);
  if (wd < 0) {
    // ENOSPC: fs.inotify.max_user_watches is exhausted. Held requests on
    // this directory then end at their timeout; say so once per directory.
    spdlog::warn("inotify watch {}: {} (held requests there will time out)", path, std::strerror(errno));
    return;
  }
  dirs_[wd] = rel;
  if (depth >= max_depth_) return;
  DIR* d = ::opendir(path.c_str());
  if (!d) return;
  std::vector<std::string> subdirs;
  while (auto* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == ".." || n == "node_modules") continue;
    if (e->d_type == DT_DIR) subdirs.push_back(join(rel, n));
  }
  ::closedir(d);
  for (const auto& s : subdirs) add_tree(s, depth + 1);
}

void DirWatcher::read_events() {
  stream_.async_read_some(boost::asio::buffer(buf_), [this](boost::system::error_code ec, size_t n) {
    if (ec == boost::asio::error::operation_aborted || !stream_.is_open()) return;
    if (ec && ec != boost::asio::error::would_block && ec != boost::asio::error::try_again) {
      spdlog::error("inotify read: {}", ec.message());
      return;
    }
    if (!ec) handle(buf_, n);
    read_events();
  });
}

void DirWatcher::handle(const char* buf, size_t n) {
  size_t off = 0;
  while (off + sizeof(inotify_event) <= n) {
    const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
    off += sizeof(inotify_event) + ev->len;
    if (ev->mask & IN_Q_OVERFLOW) {
      spdlog::warn("inotify queue overflowed; waking every held request");
      on_overflow_();
      continue;
    }
    auto it = dirs_.find(ev->wd);
    if (it == dirs_.end()) continue;
    if (ev->mask & (IN_IGNORED | IN_DELETE_SELF)) {
      if (ev->mask & IN_IGNORED) dirs_.erase(it);
      continue;
    }
    if (ev->len == 0) continue;
    std::string rel = join(it->second, ev->name);
    if (ev->mask & IN_ISDIR) {
      if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
        int depth = 1;
        for (char c : rel) depth += c == '/';
        if (depth <= max_depth_) add_tree(rel, depth);
        // Files may have landed before the watch existed.
        on_overflow_();
      }
      continue;
    }
    if (ev->mask & (IN_MOVED_TO | IN_CLOSE_WRITE)) on_file_(rel);
  }
}

}  // namespace sigma::origin
