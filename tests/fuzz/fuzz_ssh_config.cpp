// Fuzz target: the Queen's SSH-config discovery (queen/ssh_config.h) over a small tree of files
// with Include between them. The input holds up to five files separated by lines "#@@"; they
// are written, once per input, to a temp dir made once per process (on /dev/shm if writable), laid
// out as a home dir:
//   .ssh/config  .ssh/extra  .ssh/conf.d/a.conf  .ssh/conf.d/b.conf  other
// so "Include extra", "Include conf.d/*" and "Include ~/other" resolve between them.
// Include paths cannot leave the temp dir: a '/' that could start a path outside it (after a
// blank, '=', a quote, a backslash, '.', or a glob character) is rewritten to '_' first.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "queen/ssh_config.h"
#include "queen/ssh_pattern.h"

namespace fs = std::filesystem;
using namespace rbee::queen;

namespace {

constexpr const char* kFiles[] = {".ssh/config", ".ssh/extra", ".ssh/conf.d/a.conf",
                                  ".ssh/conf.d/b.conf", "other"};
constexpr std::string_view kSeparator = "\n#@@\n";

struct Home {
  fs::path dir;
  Home() {
    // tmpfs when there is one: every input rewrites the files (about 3x faster than on disk).
    std::error_code ec;
    const fs::path base =
        ::access("/dev/shm", W_OK) == 0 ? fs::path("/dev/shm") : fs::temp_directory_path(ec);
    std::string tmpl = (base / "rbee-fuzz-ssh-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir = tmpl;
    fs::create_directories(dir / ".ssh" / "conf.d");
  }
  ~Home() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const Home& home() {
  static const Home h;
  return h;
}

bool path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '~';
}

// Rewrites each '/' not preceded by a plain name character: the sandbox rule above.
std::string confine(std::string_view text) {
  std::string out(text);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '/' && (i == 0 || !path_char(out[i - 1]))) out[i] = '_';
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const Home& h = home();
  const std::string text = confine(std::string_view(reinterpret_cast<const char*>(data), size));

  std::size_t start = 0;
  for (std::size_t i = 0; i < std::size(kFiles); ++i) {
    const fs::path path = h.dir / kFiles[i];
    if (start > text.size()) {
      std::error_code ec;
      fs::remove(path, ec);  // fewer parts: that Include is unreadable
      continue;
    }
    std::size_t end = text.find(kSeparator, start);
    if (end == std::string::npos || i + 1 == std::size(kFiles)) end = text.size();
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(text.data() + start, static_cast<std::streamsize>(end - start));
    start = end + kSeparator.size();
  }

  SshConfigOptions options;
  options.user_ssh_dir = h.dir / ".ssh";
  options.max_file_bytes = 64 * 1024;
  options.max_files = 16;
  options.max_hosts = 256;
  const fs::path config = h.dir / kFiles[0];
  auto found = discover_ssh_hosts(config, options);
  if (!found) return 0;
  if (found->hosts.size() > options.max_hosts) __builtin_trap();
  std::size_t resolved = 0;
  for (const auto& host : found->hosts) {
    if (host.alias.empty()) __builtin_trap();
    if (++resolved <= 4) (void)resolve_ssh_hostname(config, host.alias, options);
    (void)ssh_pattern_list_match(host.alias, host.hostname, SshCase::sensitive);
  }
  (void)filter_candidates(found->hosts, {"*"}, {"!*.internal,bastion*"});
  return 0;
}
