#pragma once
// Announcing one service through Avahi's EntryGroup. See avahi.h.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/sys/bus.h"

namespace rbee::sys {

// Announces one service while it lives; stop() (or the destructor) withdraws it, which makes
// Avahi send the goodbye packets. Announces again whenever Avahi (re)starts: a restarted daemon
// has forgotten every entry group.
class AvahiPublisher : public std::enable_shared_from_this<AvahiPublisher> {
 public:
  struct Service {
    std::string name;  // instance name, e.g. the hive id
    std::string type;  // "_rbee-hive._tcp"
    uint16_t port = 0;
    std::vector<std::string> txt;  // from encode_txt
  };
  AvahiPublisher(BusConnection& bus, Service service);
  ~AvahiPublisher();
  // Creates the entry group, adds the service and commits it. Errors are logged (once per
  // attempt); without Avahi, the announcement waits for it to start.
  void start();
  // Frees the entry group (the goodbye) and flushes the bus.
  void stop();
  // established, registering, collision, failure, or "" before the first state.
  const std::string& state() const { return state_; }

 private:
  void announce();
  void add_service(uint64_t attempt);
  void fail(const std::string& what);
  void on_avahi(bool running);

  BusConnection& bus_;
  Service service_;
  std::string group_path_;
  std::shared_ptr<void> state_match_, owner_watch_;
  std::string state_;
  uint64_t attempt_ = 0;  // replies to an earlier attempt (an Avahi since gone) are ignored
  bool stopped_ = false;
};

}  // namespace rbee::sys
