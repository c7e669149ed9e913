#pragma once
// Learns of new files under the root without polling: inotify on every
// directory beneath it (channels and their variant folders, up to a few
// levels), read asynchronously on the io_context. The packager renames
// complete files into place, so IN_MOVED_TO is "a file is ready";
// IN_CLOSE_WRITE covers writers that write in place.
#include <boost/asio.hpp>
#include <functional>
#include <string>
#include <unordered_map>

#include "base/status.h"

namespace sigma::origin {

class DirWatcher {
 public:
  // on_file(rel): a file beneath the root is ready ("demo/v0/index.m3u8").
  // on_overflow(): events were lost; every waiter should look again.
  DirWatcher(boost::asio::io_context& ioc, std::string root, std::function<void(const std::string&)> on_file,
             std::function<void()> on_overflow, int max_depth = 4);
  ~DirWatcher();
  Status start();
  void stop();
  size_t watched_directories() const { return dirs_.size(); }

 private:
  void add_tree(const std::string& rel, int depth);
  void read_events();
  void handle(const char* buf, size_t n);

  std::string root_;
  std::function<void(const std::string&)> on_file_;
  std::function<void()> on_overflow_;
  int max_depth_;
  int fd_ = -1;
  boost::asio::posix::stream_descriptor stream_;
  std::unordered_map<int, std::string> dirs_;  // watch descriptor -> rel dir
  alignas(8) char buf_[64 * 1024];
};

}  // namespace sigma::origin
