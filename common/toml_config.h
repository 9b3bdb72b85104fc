#pragma once
// What both daemons' TOML configs share: parsing with a "file:line: what" error, refusing the
// tables and keys a daemon does not know (a typo must not pass as a default), reading the file.
#include <toml++/toml.h>

#include <filesystem>
#include <initializer_list>
#include <string_view>

#include "common/result.h"
#include "common/sys/file.h"

namespace rbee {

Result<toml::table> parse_toml(std::string_view text, std::string_view source_name);

// "unknown table [NAME]" for the first top-level member of `root` not in `known`.
Status check_tables(const toml::table& root, std::initializer_list<std::string_view> known);

// "unknown key PREFIX.NAME" for the first key of `t` not in `known`.
Status check_keys(const toml::table& t, std::string_view prefix,
                  std::initializer_list<std::string_view> known);

// The config file at `path` (a regular file of at most sys::kMaxConfigFileBytes) given to
// parse(text, source_name).
template <class Parse>
auto load_config_file(const std::filesystem::path& path, Parse&& parse)
    -> decltype(parse(std::string_view{}, std::string_view{})) {
  auto text = sys::read_regular_file(path.string(), sys::kMaxConfigFileBytes);
  if (!text) return make_error("config: " + text.error().message);
  return parse(*text, path.string());
}

}  // namespace rbee
