#pragma once
// The one JSON writer: appends to a string, escapes strings, no allocation per value.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rbee::json {

class Writer {
 public:
  Writer() { out_.reserve(256); }

  Writer& begin_object();
  Writer& end_object();
  Writer& begin_array();
  Writer& end_array();
  Writer& key(std::string_view k);

  Writer& value(std::string_view s);
  Writer& value(const char* s) { return value(std::string_view(s)); }
  Writer& value(const std::string& s) { return value(std::string_view(s)); }
  Writer& value(bool b);
  Writer& value(int64_t n);
  Writer& value(uint64_t n);
  Writer& value(int n) { return value(static_cast<int64_t>(n)); }
  Writer& value(unsigned n) { return value(static_cast<uint64_t>(n)); }
  Writer& value(long long n) { return value(static_cast<int64_t>(n)); }
  Writer& value(unsigned long long n) { return value(static_cast<uint64_t>(n)); }
  Writer& value(double d);
  Writer& null();

  // key + value; optional fields are omitted when empty (absent is absent, never a made-up 0).
  template <class T>
  Writer& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }
  template <class T>
  Writer& field(std::string_view k, const std::optional<T>& v) {
    if (v) field(k, *v);
    return *this;
  }
  template <class T>
  Writer& array_field(std::string_view k, const std::vector<T>& items) {
    key(k).begin_array();
    for (const auto& i : items) value(i);
    return end_array();
  }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void separate();
  std::string out_;
  bool need_comma_ = false;
};

// Appends s as a quoted, escaped JSON string.
void append_quoted(std::string& out, std::string_view s);

}  // namespace rbee::json
