#pragma once
#include <string>
#include <string_view>

namespace rbee {

// stderr logging; under systemd (JOURNAL_STREAM set) lines carry <N> syslog level prefixes and no
// timestamps, since the journal adds its own.
void setup_logging(std::string_view level);

// `text` made safe for one log line: control characters (C0, DEL and C1), backslash and bytes
// that are not valid UTF-8 become \xNN; everything else, other scripts included, is kept. Every
// message is written through it (setup_logging), so a string from the network (an id, a URL, a
// path, an error quoting input) can neither forge a log line nor drive the terminal showing it.
// The CLIs print what they show of the network (table rows, error lines) through it too.
std::string escape_for_log(std::string_view text);

}  // namespace rbee
