#include "common/toml_config.h"

#include <algorithm>
#include <sstream>
#include <string>

namespace rbee {

namespace {

bool known_name(std::initializer_list<std::string_view> known, std::string_view name) {
  return std::find(known.begin(), known.end(), name) != known.end();
}

}  // namespace

Result<toml::table> parse_toml(std::string_view text, std::string_view source_name) {
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << source_name << ":" << e.source().begin.line << ": " << e.description();
    return make_error(msg.str());
  }
}

Status check_tables(const toml::table& root, std::initializer_list<std::string_view> known) {
  for (auto&& [k, v] : root) {
    if (!known_name(known, k.str()))
      return make_error("unknown table [" + std::string(k.str()) + "]");
  }
  return Ok{};
}

Status check_keys(const toml::table& t, std::string_view prefix,
                  std::initializer_list<std::string_view> known) {
  for (auto&& [k, v] : t) {
    if (!known_name(known, k.str()))
      return make_error("unknown key " + std::string(prefix) + "." + std::string(k.str()));
  }
  return Ok{};
}

}  // namespace rbee
