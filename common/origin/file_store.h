#pragma once
// The served root: opens files strictly beneath it (openat2 RESOLVE_BENEATH,
// so neither "../" nor a symlink can lead outside), and keeps recently read
// files in memory. Every file under the root is written elsewhere and
// renamed into place, so a file is keyed by its identity (inode, size,
// mtime, ctime): a new version is a new inode, never a changed one.
#include <sys/stat.h>

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "base/status.h"
#include "http/body.h"

namespace sigma::origin {

enum class OpenError {
  kNotFound,
  kForbidden,    // leads outside the root, or not a regular file
  kIsDirectory,
  kIo,
};

struct FileData {
  std::shared_ptr<const std::string> bytes;  // the whole file when cached
  std::shared_ptr<http::FileHandle> file;    // the open file (sendfile), always set
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

struct FileStoreOptions {
  size_t cache_bytes = 128u << 20;  // total budget of the in-memory cache
  size_t max_cached_file = 16u << 20;
};

class FileStore {
 public:
  static Result<std::unique_ptr<FileStore>> open(const std::string& root, FileStoreOptions opts = {});
  ~FileStore();
  FileStore(const FileStore&) = delete;
  FileStore& operator=(const FileStore&) = delete;

  // rel: a path already checked by http::relative_path ("" is the root).
  std::variant<FileData, OpenError> get(const std::string& rel);
  bool is_directory(const std::string& rel);
  // Names in a directory beneath the root (empty when it is not one).
  std::vector<std::string> list(const std::string& rel);
  const std::string& root() const { return root_; }
  int root_fd() const { return root_fd_; }
  size_t cached_bytes() const;

 private:
  FileStore(std::string root, int fd, FileStoreOptions opts) : root_(std::move(root)), root_fd_(fd), opts_(opts) {}
  // An O_RDONLY descriptor beneath the root, or -errno.
  int open_beneath(const std::string& rel, int flags);

  struct Entry {
    dev_t dev;
    ino_t ino;
    off_t size;
    int64_t mtime_ns;
    int64_t ctime_ns;
    std::shared_ptr<const std::string> bytes;
    std::list<std::string>::iterator lru;
  };
  std::string root_;
  int root_fd_;
  FileStoreOptions opts_;
  std::atomic<bool> have_openat2_{true};
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;
  std::list<std::string> lru_;  // front: most recently used
  size_t total_ = 0;
};

}  // namespace sigma::origin
