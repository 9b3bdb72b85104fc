#include "common/json/writer.h"

#include <charconv>
#include <cmath>

namespace rbee::json {

void append_quoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void Writer::separate() {
  if (need_comma_) out_.push_back(',');
  need_comma_ = true;
}

Writer& Writer::begin_object() {
  separate();
  out_.push_back('{');
  need_comma_ = false;
  return *this;
}
Writer& Writer::end_object() {
  out_.push_back('}');
  need_comma_ = true;
  return *this;
}
Writer& Writer::begin_array() {
  separate();
  out_.push_back('[');
  need_comma_ = false;
  return *this;
}
Writer& Writer::end_array() {
  out_.push_back(']');
  need_comma_ = true;
  return *this;
}
Writer& Writer::key(std::string_view k) {
  separate();
  append_quoted(out_, k);
  out_.push_back(':');
  need_comma_ = false;
  return *this;
}
Writer& Writer::value(std::string_view s) {
  separate();
  append_quoted(out_, s);
  return *this;
}
Writer& Writer::value(bool b) {
  separate();
  out_ += b ? "true" : "false";
  return *this;
}
Writer& Writer::value(int64_t n) {
  separate();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out_.append(buf, r.ptr);
  return *this;
}
Writer& Writer::value(uint64_t n) {
  separate();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out_.append(buf, r.ptr);
  return *this;
}
Writer& Writer::value(double d) {
  if (!std::isfinite(d)) return null();  // JSON has no NaN/Inf
  separate();
  char buf[32];
  // Two decimals are plenty for percentages and rates and keep snapshots small.
  auto r = std::to_chars(buf, buf + sizeof buf, std::round(d * 100.0) / 100.0);
  out_.append(buf, r.ptr);
  return *this;
}
Writer& Writer::null() {
  separate();
  out_ += "null";
  return *this;
}

}  // namespace rbee::json
