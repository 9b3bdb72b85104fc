#pragma once
// Reading the systemd journal: the output of a unit, as journalctl -u would show it.
#include <cstddef>
#include <optional>
#include <string>

namespace rbee::sys {

// The last `lines` messages of a unit (by _SYSTEMD_UNIT) from its current invocation, or with
// `previous` from the one before it, each followed by '\n', at most about a MiB. The current run
// with no lines yet is an empty string; nullopt when the journal cannot be read, or when
// `previous` asks for a run there is none of.
//
// A blocking read of journal files of unbounded cost: call it off the loop. It touches no shared
// state, so any thread will do.
std::optional<std::string> read_unit_journal(const std::string& unit, std::size_t lines,
                                             bool previous);

}  // namespace rbee::sys
