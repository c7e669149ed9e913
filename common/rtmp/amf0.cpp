#include "rtmp/amf0.h"

#include <cstring>

namespace sigma::rtmp {

const AmfValue* AmfValue::get(std::string_view key) const {
  for (const auto& [k, v] : props)
    if (k == key) return &v;
  return nullptr;
}

std::optional<double> AmfValue::get_number(std::string_view key) const {
  const AmfValue* v = get(key);
  if (v && v->type == Type::kNumber) return v->number;
  if (v && v->type == Type::kBoolean) return v->boolean ? 1.0 : 0.0;
  return std::nullopt;
}

std::optional<std::string> AmfValue::get_string(std::string_view key) const {
  const AmfValue* v = get(key);
  if (v && v->type == Type::kString) return v->string;
  return std::nullopt;
}

namespace {

enum Marker : uint8_t {
  kNumber = 0, kBoolean = 1, kString = 2, kObject = 3, kMovieClip = 4, kNull = 5, kUndefined = 6,
  kReference = 7, kEcmaArray = 8, kObjectEnd = 9, kStrictArray = 10, kDate = 11, kLongString = 12,
  kUnsupported = 13, kXmlDocument = 15, kTypedObject = 16,
};

class Decoder {
 public:
  Decoder(std::string_view d, const AmfLimits& l) : d_(d), limits_(l) {}
  bool done() const { return pos_ >= d_.size(); }

  Status value(AmfValue& out, int depth) {
    if (depth > limits_.max_depth) return data_error("AMF0 nesting too deep");
    if (++elements_ > limits_.max_elements) return data_error("AMF0 value has too many elements");
    uint8_t m;
    SIGMA_RETURN_IF_ERROR(u8(m));
    switch (m) {
      case kNumber: out.type = AmfValue::Type::kNumber; return f64(out.number);
      case kBoolean: {
        uint8_t b;
        SIGMA_RETURN_IF_ERROR(u8(b));
        out.type = AmfValue::Type::kBoolean;
        out.boolean = b != 0;
        return {};
      }
      case kString: out.type = AmfValue::Type::kString; return short_string(out.string);
      case kLongString:
      case kXmlDocument: out.type = AmfValue::Type::kString; return long_string(out.string);
      case kNull: out.type = AmfValue::Type::kNull; return {};
      case kUndefined:
      case kUnsupported: out.type = AmfValue::Type::kUndefined; return {};
      case kReference: {
        // References point back into a complex-object table we do not keep;
        // no RTMP publisher sends them in commands, so they read as undefined.
        uint8_t b[2];
        SIGMA_RETURN_IF_ERROR(bytes(b, 2));
        out.type = AmfValue::Type::kUndefined;
        return {};
      }
      case kObject: out.type = AmfValue::Type::kObject; return properties(out.props, depth);
      case kTypedObject: {
        std::string class_name;
        SIGMA_RETURN_IF_ERROR(short_string(class_name));
        out.type = AmfValue::Type::kObject;
        return properties(out.props, depth);
      }
      case kEcmaArray: {
        uint32_t count;  // a hint only: the list is terminated like an object
        SIGMA_RETURN_IF_ERROR(u32(count));
        out.type = AmfValue::Type::kEcmaArray;
        return properties(out.props, depth);
      }
      case kStrictArray: {
        uint32_t count;
        SIGMA_RETURN_IF_ERROR(u32(count));
        if (count > limits_.max_elements) return data_error("AMF0 strict array too long");
        out.type = AmfValue::Type::kStrictArray;
        for (uint32_t i = 0; i < count; ++i) {
          AmfValue v;
          SIGMA_RETURN_IF_ERROR(value(v, depth + 1));
          out.items.push_back(std::move(v));
        }
        return {};
      }
      case kDate: {
        out.type = AmfValue::Type::kDate;
        SIGMA_RETURN_IF_ERROR(f64(out.number));
        uint8_t tz[2];
        return bytes(tz, 2);
      }
      default: return data_error("AMF0 unknown type marker " + std::to_string(m));
    }
  }

 private:
  Status properties(std::vector<AmfProperty>& props, int depth) {
    for (;;) {
      std::string key;
      SIGMA_RETURN_IF_ERROR(short_string(key));
      if (key.empty()) {
        // An empty key is followed by the object-end marker. Some encoders
        // end ECMA arrays short; tolerate a missing marker at the very end.
        if (done()) return {};
        uint8_t m;
        SIGMA_RETURN_IF_ERROR(u8(m));
        if (m != kObjectEnd) return data_error("AMF0 object: expected end marker");
        return {};
      }
      AmfValue v;
      SIGMA_RETURN_IF_ERROR(value(v, depth + 1));
      props.push_back({std::move(key), std::move(v)});
    }
  }
  Status need(size_t n) {
    if (d_.size() - pos_ < n) return data_error("AMF0 value truncated");
    return {};
  }
  Status bytes(uint8_t* out, size_t n) {
    SIGMA_RETURN_IF_ERROR(need(n));
    std::memcpy(out, d_.data() + pos_, n);
    pos_ += n;
    return {};
  }
  Status u8(uint8_t& v) { return bytes(&v, 1); }
  Status u32(uint32_t& v) {
    uint8_t b[4];
    SIGMA_RETURN_IF_ERROR(bytes(b, 4));
    v = uint32_t(b[0]) << 24 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 8 | b[3];
    return {};
  }
  Status f64(double& v) {
    uint8_t b[8];
    SIGMA_RETURN_IF_ERROR(bytes(b, 8));
    uint64_t u = 0;
    for (uint8_t x : b) u = u << 8 | x;
    std::memcpy(&v, &u, 8);
    return {};
  }
  Status short_string(std::string& s) {
    uint8_t b[2];
    SIGMA_RETURN_IF_ERROR(bytes(b, 2));
    size_t n = size_t(b[0]) << 8 | b[1];
    SIGMA_RETURN_IF_ERROR(need(n));
    s.assign(d_.data() + pos_, n);
    pos_ += n;
    return {};
  }
  Status long_string(std::string& s) {
    uint32_t n;
    SIGMA_RETURN_IF_ERROR(u32(n));
    SIGMA_RETURN_IF_ERROR(need(n));
    s.assign(d_.data() + pos_, n);
    pos_ += n;
    return {};
  }

  std::string_view d_;
  size_t pos_ = 0;
  AmfLimits limits_;
  size_t elements_ = 0;
};

void put_u16(std::string& out, size_t v) {
  out.push_back(char(v >> 8));
  out.push_back(char(v));
}
void put_u32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(char(v >> s));
}
void put_key(std::string& out, const std::string& k) {
  size_t n = std::min<size_t>(k.size(), 0xFFFF);
  put_u16(out, n);
  out.append(k, 0, n);
}

}  // namespace

Result<std::vector<AmfValue>> amf0_decode(std::string_view data, const AmfLimits& limits) {
  Decoder d(data, limits);
  std::vector<AmfValue> out;
  while (!d.done()) {
    AmfValue v;
    SIGMA_RETURN_IF_ERROR(d.value(v, 0));
    out.push_back(std::move(v));
  }
  return out;
}

void amf0_encode(std::string& out, const AmfValue& v) {
  switch (v.type) {
    case AmfValue::Type::kNumber:
    case AmfValue::Type::kDate: {
      out.push_back(char(v.type == AmfValue::Type::kDate ? kDate : kNumber));
      uint64_t u;
      std::memcpy(&u, &v.number, 8);
      for (int s = 56; s >= 0; s -= 8) out.push_back(char(u >> s));
      if (v.type == AmfValue::Type::kDate) put_u16(out, 0);
      break;
    }
    case AmfValue::Type::kBoolean:
      out.push_back(char(kBoolean));
      out.push_back(v.boolean ? 1 : 0);
      break;
    case AmfValue::Type::kString:
      if (v.string.size() > 0xFFFF) {
        out.push_back(char(kLongString));
        put_u32(out, uint32_t(v.string.size()));
        out += v.string;
      } else {
        out.push_back(char(kString));
        put_key(out, v.string);
      }
      break;
    case AmfValue::Type::kNull: out.push_back(char(kNull)); break;
    case AmfValue::Type::kUndefined: out.push_back(char(kUndefined)); break;
    case AmfValue::Type::kObject:
    case AmfValue::Type::kEcmaArray:
      if (v.type == AmfValue::Type::kObject) {
        out.push_back(char(kObject));
      } else {
        out.push_back(char(kEcmaArray));
        put_u32(out, uint32_t(v.props.size()));
      }
      for (const auto& [k, pv] : v.props) {
        put_key(out, k);
        amf0_encode(out, pv);
      }
      put_u16(out, 0);
      out.push_back(char(kObjectEnd));
      break;
    case AmfValue::Type::kStrictArray:
      out.push_back(char(kStrictArray));
      put_u32(out, uint32_t(v.items.size()));
      for (const auto& it : v.items) amf0_encode(out, it);
      break;
  }
}

}  // namespace sigma::rtmp
