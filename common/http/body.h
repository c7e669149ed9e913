#pragma once
// The one response body type of the server: a slice of shared, immutable
// bytes (cached files, playlists, generated pages) written in one buffer, or
// a slice of an open file read with pread() in large chunks (files too big
// for the cache). One type keeps the connection code free of variants.
#include <unistd.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/optional.hpp>
#include <cstdint>
#include <memory>
#include <string>

namespace sigma::http {

// Owns a descriptor; shared so a body can be copied cheaply.
class FileHandle {
 public:
  explicit FileHandle(int fd) : fd_(fd) {}
  ~FileHandle() { if (fd_ >= 0) ::close(fd_); }
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

struct SharedBody {
  struct value_type {
    std::shared_ptr<const std::string> bytes;
    std::shared_ptr<FileHandle> file;
    uint64_t offset = 0;
    uint64_t length = 0;
  };

  static std::uint64_t size(const value_type& v) { return v.length; }

  class writer {
   public:
    using const_buffers_type = boost::asio::const_buffer;

    template <bool isRequest, class Fields>
    writer(const boost::beast::http::header<isRequest, Fields>&, const value_type& b) : body_(b) {}

    void init(boost::beast::error_code& ec) { ec = {}; }

    boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec) {
      ec = {};
      if (pos_ >= body_.length) return boost::none;
      if (body_.bytes) {
        pos_ = body_.length;
        return {{const_buffers_type(body_.bytes->data() + body_.offset, body_.length), false}};
      }
      if (!buf_) buf_ = std::make_unique<char[]>(kChunk);
      uint64_t want = body_.length - pos_ < kChunk ? body_.length - pos_ : kChunk;
      ssize_t n;
      do {
        n = ::pread(body_.file->fd(), buf_.get(), want, static_cast<off_t>(body_.offset + pos_));
      } while (n < 0 && errno == EINTR);
      if (n <= 0) {  // the file shrank under us: end the response early
        ec = n < 0 ? boost::beast::error_code(errno, boost::system::system_category())
                   : boost::beast::http::error::short_read;
        return boost::none;
      }
      pos_ += static_cast<uint64_t>(n);
      return {{const_buffers_type(buf_.get(), static_cast<size_t>(n)), pos_ < body_.length}};
    }

   private:
    static constexpr uint64_t kChunk = 256 * 1024;
    const value_type& body_;
    uint64_t pos_ = 0;
    std::unique_ptr<char[]> buf_;
  };
};

using Response = boost::beast::http::response<SharedBody>;

// A response whose body is the given bytes (HEAD: headers only, same length).
inline void set_bytes(Response& res, std::shared_ptr<const std::string> bytes, uint64_t offset,
                      uint64_t length, bool head) {
  res.content_length(length);
  if (head) return;
  res.body().bytes = std::move(bytes);
  res.body().offset = offset;
  res.body().length = length;
}

inline void set_text(Response& res, std::string text, bool head) {
  auto s = std::make_shared<const std::string>(std::move(text));
  uint64_t n = s->size();
  set_bytes(res, std::move(s), 0, n, head);
}

}  // namespace sigma::http
