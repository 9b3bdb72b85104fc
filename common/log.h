#pragma once
#include <string_view>

namespace rbee {

// stderr logging; under systemd (JOURNAL_STREAM set) lines carry <N> syslog level prefixes and no
// timestamps, since the journal adds its own.
void setup_logging(std::string_view level);

}  // namespace rbee
