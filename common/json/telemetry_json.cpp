#include "common/json/telemetry_json.h"

#include "common/telemetry_schema.h"

namespace rbee::json {

namespace {

template <class T, class Table>
void write_fields(Writer& w, const T& x, const Table& table);

template <class M>
void write_member(Writer& w, std::string_view name, const M& m) {
  if constexpr (telemetry::schema::Object<M>) {
    w.key(name).begin_object();
    write_fields(w, m, telemetry::schema::TableOf<M>::table);
    w.end_object();
  } else if constexpr (telemetry::schema::is_list<M>) {
    w.array_field(name, m);
  } else if constexpr (telemetry::schema::is_optional<M>) {
    if (m) write_member(w, name, *m);
  } else if constexpr (std::is_enum_v<M>) {
    w.field(name, telemetry::to_string(m));
  } else {
    w.field(name, m);
  }
}

template <class T, class Table>
void write_fields(Writer& w, const T& x, const Table& table) {
  telemetry::schema::for_each_field(table,
                                    [&](const auto& f) { write_member(w, f.name, x.*f.member); });
}

}  // namespace

void write_worker_fields(Writer& w, const telemetry::Worker& x) {
  write_fields(w, x, telemetry::schema::kWorker);
}

void write_worker(Writer& w, const telemetry::Worker& worker) {
  w.begin_object();
  write_worker_fields(w, worker);
  w.end_object();
}

void write_host(Writer& w, const telemetry::Host& h) {
  w.begin_object();
  write_fields(w, h, telemetry::schema::kHost);
  w.end_object();
}

void write_gpu(Writer& w, const telemetry::Gpu& g) {
  w.begin_object();
  write_fields(w, g, telemetry::schema::kGpu);
  w.end_object();
}

std::string encode_snapshot(const telemetry::Snapshot& s) {
  Writer w;
  w.begin_object().field("schema_version", s.schema_version).field("hive_id", s.hive_id);
  w.field("instance_id", s.instance_id).field("seq", s.seq).field("timestamp_ms", s.timestamp_ms);
  w.field("interval_ms", s.interval_ms).field("backend", s.backend);
  w.key("host");
  write_host(w, s.host);
  w.key("gpus").begin_array();
  for (const auto& g : s.gpus) write_gpu(w, g);
  w.end_array();
  if (s.gpus_stale) w.field("gpus_stale", true);
  w.key("workers").begin_array();
  for (const auto& worker : s.workers) write_worker(w, worker);
  w.end_array();
  w.end_object();
  return w.take();
}

std::string encode_worker(const telemetry::Worker& worker) {
  Writer w;
  write_worker(w, worker);
  return w.take();
}

}  // namespace rbee::json
