#include "origin/file_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace sigma::origin {
namespace {

int64_t ns(const struct timespec& t) { return int64_t(t.tv_sec) * 1000000000 + t.tv_nsec; }

bool read_all(int fd, std::string& out, size_t size) {
  out.resize(size);
  size_t off = 0;
  while (off < size) {
    ssize_t n = ::pread(fd, out.data() + off, size - off, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<FileStore>> FileStore::open(const std::string& root, FileStoreOptions opts) {
  char real[PATH_MAX];
  if (!::realpath(root.c_str(), real))
    return usage_error("root directory " + root + ": " + std::strerror(errno));
  int fd = ::open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno_error("open root directory " + root, errno);
  return std::unique_ptr<FileStore>(new FileStore(real, fd, opts));
}

FileStore::~FileStore() { ::close(root_fd_); }

int FileStore::open_beneath(const std::string& rel, int flags) {
  const char* path = rel.empty() ? "." : rel.c_str();
  if (have_openat2_.load(std::memory_order_relaxed)) {
    struct open_how how {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd = ::syscall(SYS_openat2, root_fd_, path, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != ENOSYS && errno != EPERM) return errno == EXDEV || errno == ELOOP ? -EXDEV : -errno;
    have_openat2_ = false;  // old kernel or a seccomp filter: check by hand
  }
  int fd = ::openat(root_fd_, path, flags | O_CLOEXEC);
  if (fd < 0) return -errno;
  char link[64], real[PATH_MAX];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = ::readlink(link, real, sizeof real - 1);
  if (n < 0) {
    ::close(fd);
    return -EIO;
  }
  std::string_view got(real, static_cast<size_t>(n));
  if (got != root_ && (got.substr(0, root_.size()) != root_ || got[root_.size()] != '/')) {
    ::close(fd);
    return -EXDEV;
  }
  return fd;
}

std::variant<FileData, OpenError> FileStore::get(const std::string& rel) {
  // O_NONBLOCK: opening a FIFO someone left under the root must not block.
  int fd = open_beneath(rel, O_RDONLY | O_NONBLOCK);
  if (fd < 0) {
    if (fd == -ENOENT || fd == -ENOTDIR) return OpenError::kNotFound;
    if (fd == -EXDEV || fd == -EACCES) return OpenError::kForbidden;
    return OpenError::kIo;
  }
  auto handle = std::make_shared<http::FileHandle>(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return OpenError::kIo;
  if (S_ISDIR(st.st_mode)) return OpenError::kIsDirectory;
  if (!S_ISREG(st.st_mode)) return OpenError::kForbidden;
  FileData d;
  d.size = static_cast<uint64_t>(st.st_size);
  d.mtime_ns = ns(st.st_mtim);
  if (d.size > opts_.max_cached_file) {
    d.file = std::move(handle);
    return d;
  }
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(rel);
    if (it != cache_.end()) {
      Entry& e = it->second;
      if (e.dev == st.st_dev && e.ino == st.st_ino && e.size == st.st_size && e.mtime_ns == ns(st.st_mtim) &&
          e.ctime_ns == ns(st.st_ctim)) {
        lru_.splice(lru_.begin(), lru_, e.lru);
        d.bytes = e.bytes;
        d.file = std::move(handle);  // big bodies go out with sendfile
        return d;
      }
      total_ -= e.bytes->size();
      lru_.erase(e.lru);
      cache_.erase(it);
    }
  }
  auto bytes = std::make_shared<std::string>();
  if (!read_all(fd, *bytes, d.size)) return OpenError::kIo;
  d.bytes = bytes;
  d.file = std::move(handle);
  std::lock_guard lock(mu_);
  if (cache_.count(rel)) return d;  // another thread raced us; keep theirs
  lru_.push_front(rel);
  cache_.emplace(rel, Entry{st.st_dev, st.st_ino, st.st_size, ns(st.st_mtim), ns(st.st_ctim), bytes, lru_.begin()});
  total_ += bytes->size();
  while (total_ > opts_.cache_bytes && !lru_.empty()) {
    auto victim = cache_.find(lru_.back());
    total_ -= victim->second.bytes->size();
    cache_.erase(victim);
    lru_.pop_back();
  }
  return d;
}

bool FileStore::is_directory(const std::string& rel) {
  int fd = open_beneath(rel, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

std::vector<std::string> FileStore::list(const std::string& rel) {
  std::vector<std::string> names;
  int fd = open_beneath(rel, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return names;
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    return names;
  }
  while (auto* e = ::readdir(dir)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(dir);
  return names;
}

size_t FileStore::cached_bytes() const {
  std::lock_guard lock(mu_);
  return total_;
}

}  // namespace sigma::origin
