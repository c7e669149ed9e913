#pragma once
// AMF0 (Action Message Format 0), the encoding of RTMP command and data
// messages: connect/publish/... and onMetaData. Decoding is bounded (depth,
// element count) because every byte comes from an untrusted client.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sigma::rtmp {

struct AmfProperty;  // {name, value}; defined below, AmfValue nests it

struct AmfValue {
  enum class Type { kNumber, kBoolean, kString, kObject, kNull, kUndefined, kEcmaArray, kStrictArray, kDate };
  Type type = Type::kNull;
  double number = 0;  // kNumber, kDate (ms since epoch)
  bool boolean = false;
  std::string string;
  std::vector<AmfProperty> props;  // kObject, kEcmaArray
  std::vector<AmfValue> items;     // kStrictArray

  // Factories, defined below once AmfProperty is complete.
  static AmfValue num(double v);
  static AmfValue str(std::string v);
  static AmfValue boolean_value(bool v);
  static AmfValue null();
  static AmfValue undefined();
  static AmfValue object(std::vector<AmfProperty> p);

  bool is_number() const { return type == Type::kNumber; }
  bool is_string() const { return type == Type::kString; }
  // Property lookup on objects and ECMA arrays; nullptr when absent.
  const AmfValue* get(std::string_view key) const;
  std::optional<double> get_number(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
};

struct AmfProperty {
  std::string first;
  AmfValue second;
};

inline AmfValue AmfValue::num(double v) { AmfValue a; a.type = Type::kNumber; a.number = v; return a; }
inline AmfValue AmfValue::str(std::string v) { AmfValue a; a.type = Type::kString; a.string = std::move(v); return a; }
inline AmfValue AmfValue::boolean_value(bool v) { AmfValue a; a.type = Type::kBoolean; a.boolean = v; return a; }
inline AmfValue AmfValue::null() { return AmfValue{}; }
inline AmfValue AmfValue::undefined() { AmfValue a; a.type = Type::kUndefined; return a; }
inline AmfValue AmfValue::object(std::vector<AmfProperty> p) {
  AmfValue a;
  a.type = Type::kObject;
  a.props = std::move(p);
  return a;
}

struct AmfLimits {
  int max_depth = 16;
  size_t max_elements = 4096;  // values in total, over all nesting levels
};

// Decodes every value in data (a command is a sequence of values).
Result<std::vector<AmfValue>> amf0_decode(std::string_view data, const AmfLimits& limits = {});
void amf0_encode(std::string& out, const AmfValue& v);

}  // namespace sigma::rtmp
