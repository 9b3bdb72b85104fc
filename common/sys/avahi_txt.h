#pragma once
// DNS-SD TXT records as Avahi carries them: a list of "key=value" byte strings.
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace rbee::sys {

// At most this many records are read from an announcement, each at most 255 bytes.
inline constexpr std::size_t kMaxTxtRecords = 64;
inline constexpr std::size_t kMaxTxtRecord = 255;

// TXT records: one "key=value" byte string each (RFC 6763 section 6). Keys are case-insensitive
// and at most 9 bytes would be polite; a record is at most 255 bytes.
Result<std::vector<std::string>> encode_txt(
    const std::vector<std::pair<std::string, std::string>>& records);
// Keys lowercased; the first record of a key wins; records without '=' or with an empty key are
// skipped (a bare key is a boolean attribute we do not use).
std::map<std::string, std::string> decode_txt(const std::vector<std::string>& records);

}  // namespace rbee::sys
