#include "queen/events.h"

#include "common/json/writer.h"

namespace rbee::queen {

std::string encode_event(const Event& e, uint64_t seq, int64_t time_ms) {
  json::Writer w;
  w.begin_object().field("seq", seq).field("time_ms", time_ms);
  w.field("kind", to_string(e.kind)).field("hive_id", e.hive_id);
  if (!e.alias.empty()) w.field("alias", e.alias);
  if (e.worker) {
    const auto& x = *e.worker;
    w.field("service", x.service).field("instance", x.instance).field("port", x.port);
    w.field("state", telemetry::to_string(x.state));
    if (e.previous_state) w.field("previous_state", telemetry::to_string(*e.previous_state));
    w.field("exit_code", x.exit_code).field("signal", x.signal).field("oom_kills", x.oom_kills);
    w.field("main_pid", x.main_pid).field("spawned_by", telemetry::to_string(x.spawned_by));
    if (!e.url.empty()) w.field("url", e.url);
  } else {
    w.field("status", to_string(e.status)).field("previous_status", to_string(e.previous_status));
  }
  w.end_object();
  return w.take();
}

}  // namespace rbee::queen
