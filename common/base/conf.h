#pragma once
// The house config format, shared by sigma-supervisor's channel config
// (sigma-supervisor(5)) and sigma-hook's subscription file (sigma-hook(5)):
// an INI-like text a sysadmin can read and diff.
//
//   # a comment (also ';'), blank lines ignored
//   [global]                  a section without a name (at most once)
//   key = value               blanks around key and value are trimmed
//   [channel news]            a named section; the name may be "quoted"
//
// The caller says which section kinds exist and whether they take a name;
// the reader checks the shape (headers, `key = value`, a key set twice in
// one section, a kind or name seen twice) and hands every section and key
// to the caller, in file order, so the first error in the file is the one
// reported. Every error is a usage error (exit 100) reading
// "FILE:LINE: reason"; a caller's own Status message gets the FILE:LINE:
// prefix added.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace sigma {

struct ConfSectionKind {
  std::string kind;    // "global", "channel", "subscription"
  bool named = false;  // [channel NAME] (several, names unique) or [global] (once)
};

struct ConfSection {
  std::string kind;
  std::string name;  // "" for unnamed kinds
  int line = 0;      // of the header
};

struct ConfVisitor {
  // A new section begins. An error (e.g. a name the caller refuses) stops
  // the read; its message gets "FILE:LINE: " in front.
  std::function<Status(const ConfSection&)> on_section;
  // One `key = value` line inside `section`.
  std::function<Status(const ConfSection& section, const std::string& key, const std::string& value, int line)>
      on_key;
};

// Reads `text`; `origin` names it in errors (a path, usually).
Status read_conf(const std::string& text, const std::string& origin, const std::vector<ConfSectionKind>& kinds,
                 const ConfVisitor& visitor);

// The same, parsed into memory for callers that prefer to walk it.
struct ConfEntry {
  std::string key, value;
  int line = 0;
};
struct ConfDocSection {
  ConfSection header;
  std::vector<ConfEntry> entries;  // in file order
  const ConfEntry* find(const std::string& key) const;
};
struct ConfDoc {
  std::string origin;
  std::vector<ConfDocSection> sections;  // in file order
};
Result<ConfDoc> parse_conf(const std::string& text, const std::string& origin,
                           const std::vector<ConfSectionKind>& kinds);
// Reads the file at `path` (an unreadable file is a usage error too).
Result<ConfDoc> load_conf(const std::string& path, const std::vector<ConfSectionKind>& kinds);

// "FILE:LINE: msg" (or "FILE: msg" when line is 0) as a usage error.
Status conf_error(const std::string& origin, int line, const std::string& msg);

// Values, as the config files write them. Errors are usage errors without
// FILE:LINE (the caller adds it, e.g. through on_key's return).
std::string conf_trim(const std::string& s);
// yes/true/on/1, no/false/off/0.
Result<bool> parse_bool(const std::string& v);
// A small non-negative count: digits only, at most 6 of them.
Result<int> parse_count(const std::string& v);
// "30s", "500ms", "2m", "1h", "7d", "90" (seconds) -> milliseconds. One
// number and one unit: stricter than time_spec.h's parse_duration.
Result<int64_t> parse_duration_ms(const std::string& s);
// "100G", "500M", "64K", "2T" (powers of 1024) or plain bytes -> bytes.
Result<int64_t> parse_size_bytes(const std::string& s);
// Shell-like word splitting: blanks separate, '...' and "..." quote,
// backslash escapes. No expansion of any kind.
Result<std::vector<std::string>> split_words(const std::string& s);
// Quotes a word for a POSIX shell only when it needs it.
std::string shell_quote(const std::string& word);

}  // namespace sigma
