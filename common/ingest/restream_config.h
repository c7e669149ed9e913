#pragma once
// Which channels sigma-ingest restreams where: --restream CHANNEL.NAME=URL
// (repeatable), and lines of the --channels file of the same form behind
// the word restream:
//   restream demo.youtube=rtmp://a.rtmp.youtube.com/live2/KEY
//   restream demo.backup=srt://10.0.0.2:9000?streamid=KEY
// (re-read on SIGHUP with the rest of that file). URLs are checked here
// (base/push_url.h): a bad one is a usage error naming the target, with the
// URL redacted.
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "ingest/restream_target.h"

namespace sigma::ingest {

class RestreamConfig {
 public:
  // CHANNEL.NAME=URL; where names the option or file:line in errors.
  Status add(const std::string& spec, const std::string& where);
  // Takes the restream lines out of a --channels file's text (they become
  // blank lines, so the others keep their line numbers) and adds them.
  Result<std::string> take_from(const std::string& text, const std::string& origin);
  std::vector<RestreamSpec> for_channel(const std::string& name) const;
  bool empty() const { return by_channel_.empty(); }

 private:
  std::map<std::string, std::vector<RestreamSpec>> by_channel_;
};

}  // namespace sigma::ingest
