#include "common/sys/avahi_txt.h"

#include <cctype>

namespace rbee::sys {

Result<std::vector<std::string>> encode_txt(
    const std::vector<std::pair<std::string, std::string>>& records) {
  std::vector<std::string> out;
  for (const auto& [k, v] : records) {
    if (k.empty() || k.find('=') != std::string::npos)
      return make_error("TXT key \"" + k + "\" is empty or holds '='");
    for (unsigned char c : k) {
      if (c < 0x20 || c > 0x7e) return make_error("TXT key \"" + k + "\" is not printable ASCII");
    }
    std::string rec = k + "=" + v;
    if (rec.size() > kMaxTxtRecord)
      return make_error("TXT record " + k + " is longer than 255 bytes");
    out.push_back(std::move(rec));
  }
  return out;
}

std::map<std::string, std::string> decode_txt(const std::vector<std::string>& records) {
  std::map<std::string, std::string> out;
  std::size_t n = 0;
  for (const auto& rec : records) {
    if (++n > kMaxTxtRecords) break;
    if (rec.size() > kMaxTxtRecord) continue;
    auto eq = rec.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string key = rec.substr(0, eq);
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.emplace(std::move(key), rec.substr(eq + 1));
  }
  return out;
}

}  // namespace rbee::sys
