#include "common/json/decode.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "common/telemetry_schema.h"

namespace rbee::json {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// A decode error that names the field: "workers[3].port: must be 1-65535".
struct Fail {
  std::string message;
};

// Where a value sits, put into words only when there is an error to report:
// {"workers", 3, "port"} is "workers[3].port". Decoding a valid document builds no path string.
struct Path {
  static constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);
  std::string_view base;
  std::size_t index = kNoIndex;
  std::string_view key;

  Path field(std::string_view k) const { return {base, index, k}; }
  std::string str() const {
    std::string out(base);
    if (index != kNoIndex) out += "[" + std::to_string(index) + "]";
    if (!key.empty()) {
      if (!out.empty()) out += '.';
      out += key;
    }
    return out;
  }
};

inline std::string path_text(const std::string& p) {
  return p;
}
inline std::string path_text(const Path& p) {
  return p.str();
}
// The path of the member `key` of the object at `path`.
inline std::string member_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
inline Path member_path(const Path& path, std::string_view key) {
  return path.field(key);
}

// Each member of one JSON object at most once. A decoder reads a repeated member again, so its
// entries would add up past every count limit (three "workers" of 10,000 each). The members a
// decoder reads are a bit each, by their place in its table, checked before their value is
// decoded; any other name (ignored, or a free-form key such as an env variable) is kept and
// checked by sorting when the object ends: it adds nothing up on the way.
class Members {
 public:
  static constexpr std::size_t kOther = 64;

  // False when the member was seen before in this object.
  bool first(std::size_t index, std::string_view key) {
    if (index >= kOther) {
      others_.push_back(key);
      return true;
    }
    const uint64_t bit = uint64_t{1} << index;
    if (seen_ & bit) return false;
    seen_ |= bit;
    return true;
  }

  // A name among the others that came more than once.
  std::optional<std::string_view> repeated_other() {
    if (others_.size() < 2) return std::nullopt;
    std::sort(others_.begin(), others_.end());
    auto it = std::adjacent_find(others_.begin(), others_.end());
    if (it == others_.end()) return std::nullopt;
    return *it;
  }

 private:
  uint64_t seen_ = 0;
  std::vector<std::string_view> others_;
};

// The place of `key` in a decoder's table of member names, or Members::kOther.
template <std::size_t N>
constexpr std::size_t index_in(const std::string_view (&names)[N], std::string_view key) {
  static_assert(N <= Members::kOther);
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == key) return i;
  return Members::kOther;
}

// For objects whose members are all free-form or all looked up by name later.
constexpr std::size_t no_table(std::string_view) {
  return Members::kOther;
}

class Reader {
 public:
  explicit Reader(const DecodeLimits& l) : limits_(l) {}

  std::optional<Fail> fail;

  void error(std::string path, std::string what) {
    if (path.empty()) path = "document";
    if (!fail) fail = Fail{std::move(path) + ": " + std::move(what)};
  }

  // The string as it sits in the parsed document: valid until the parser's next document.
  // The readers below are on the hot path of every decode; their error messages are built in
  // the cold helpers further down so that the readers stay small enough to be inlined.
  template <class P>
  std::optional<std::string_view> str(element e, const P& path) {
    std::string_view v;
    if (e.get_string().get(v)) return error_at(path, "must be a string"), std::nullopt;
    if (v.size() > limits_.max_string) return error_longer(path, limits_.max_string), std::nullopt;
    return v;
  }

  template <class P>
  std::optional<uint64_t> u64(element e, const P& path,
                              uint64_t max = std::numeric_limits<uint64_t>::max()) {
    uint64_t v;
    if (e.get_uint64().get(v))
      return error_at(path, "must be a non-negative integer"), std::nullopt;
    if (v > max) return error_at_most(path, max), std::nullopt;
    return v;
  }

  template <class P>
  std::optional<int64_t> i64(element e, const P& path, int64_t min, int64_t max) {
    int64_t v;
    if (e.get_int64().get(v) || v < min || v > max)
      return error_range(path, "an integer", min, max), std::nullopt;
    return v;
  }

  template <class P>
  std::optional<double> num(element e, const P& path, double min, double max) {
    double v;
    if (e.get_double().get(v) || !std::isfinite(v) || v < min || v > max)
      return error_range(path, "a number", min, max), std::nullopt;
    return v;
  }

  template <class P>
  std::optional<array> arr(element e, const P& path, std::size_t max) {
    array a;
    if (e.get_array().get(a)) return error_at(path, "must be an array"), std::nullopt;
    if (a.size() > max) return error_count(path, max), std::nullopt;
    return a;
  }

  template <class P>
  std::optional<object> obj(element e, const P& path) {
    object o;
    if (e.get_object().get(o)) return error(path_text(path), "must be an object"), std::nullopt;
    return o;
  }

  // f(key, value, path of the member, index) for each member of `o` in document order, where
  // index is index_of(key); stops at the first error. A repeated member is an error naming it
  // (every object decoder goes through here, so every count limit holds per document).
  template <class P, class IndexOf, class F>
  void each_member(object o, const P& path, IndexOf index_of, F&& f) {
    Members seen;
    for (auto [key, v] : o) {
      if (fail) return;
      const auto p = member_path(path, key);
      const std::size_t index = index_of(key);
      if (!seen.first(index, key)) return error(path_text(p), "is repeated");
      f(key, v, p, index);
    }
    if (fail) return;
    if (auto k = seen.repeated_other()) error(path_text(member_path(path, *k)), "is repeated");
  }

  // The object at `e` when it has no repeated member, for decoders that look members up by
  // name (at_key finds only the first of a repeated one).
  template <class P>
  std::optional<object> unique_obj(element e, const P& path) {
    auto o = obj(e, path);
    if (!o) return std::nullopt;
    each_member(*o, path, no_table, [](std::string_view, element, const auto&, std::size_t) {});
    if (fail) return std::nullopt;
    return o;
  }

  template <class P>
  [[gnu::cold, gnu::noinline]] void error_at(const P& path, const char* what) {
    error(path_text(path), what);
  }
  template <class P>
  [[gnu::cold, gnu::noinline]] void error_longer(const P& path, std::size_t max) {
    error(path_text(path), "is longer than " + std::to_string(max) + " bytes");
  }
  template <class P>
  [[gnu::cold, gnu::noinline]] void error_at_most(const P& path, uint64_t max) {
    error(path_text(path), "must be at most " + std::to_string(max));
  }
  template <class P>
  [[gnu::cold, gnu::noinline]] void error_count(const P& path, std::size_t max) {
    error(path_text(path), "has more than " + std::to_string(max) + " entries");
  }
  template <class P, class N>
  [[gnu::cold, gnu::noinline]] void error_range(const P& path, const char* kind, N min, N max) {
    error(path_text(path), std::string("must be ") + kind + " from " + std::to_string(min) +
                               " to " + std::to_string(max));
  }

  const DecodeLimits& limits_;
};

template <class T>
void set(std::optional<T>& out, std::optional<T> v) {
  if (v) out = std::move(v);
}

void set(std::optional<std::string>& out, std::optional<std::string_view> v) {
  if (v) out.emplace(*v);
}

namespace schema = telemetry::schema;

// Back to a default-constructed object, keeping the storage of its strings and lists.
template <const auto& Table, class T>
void reset_fields(T& x) {
  static const T fresh{};
  schema::for_each_field(Table, [&](const auto& f) {
    auto& m = x.*f.member;
    using M = std::remove_reference_t<decltype(m)>;
    if constexpr (std::is_same_v<M, std::string> || schema::is_list<M>)
      m.clear();
    else
      m = fresh.*f.member;
  });
}

void reset_worker(telemetry::Worker& w) {
  reset_fields<schema::kWorker>(w);
}

template <class V>
using wire_t = std::conditional_t<std::is_same_v<V, std::string>, std::string_view, V>;

template <NamedEnum E>
std::string one_of() {
  std::string out = "is not one of:";
  for (auto name : EnumNames<E>::names) out.append(" ").append(name);
  return out;
}

// One JSON value as the C++ type V, within [lo, hi] for numbers.
template <class V>
std::optional<wire_t<V>> read_value(Reader& r, element e, const Path& p, schema::bound_t<V> lo,
                                    schema::bound_t<V> hi) {
  if constexpr (std::is_same_v<V, std::string>) {
    return r.str(e, p);
  } else if constexpr (std::is_enum_v<V>) {
    auto s = r.str(e, p);
    if (!s) return std::nullopt;
    auto x = parse_enum<V>(*s);
    if (!x) r.error(p.str(), one_of<V>());
    return x;
  } else if constexpr (std::is_same_v<V, bool>) {
    bool b = false;
    if (e.get_bool().get(b)) return r.error(p.str(), "must be true or false"), std::nullopt;
    return b;
  } else if constexpr (std::is_floating_point_v<V>) {
    return r.num(e, p, lo, hi);
  } else if constexpr (std::is_unsigned_v<V> && sizeof(V) == 8) {
    return r.u64(e, p, hi);
  } else if constexpr (std::is_unsigned_v<V>) {
    if (lo > 0) {
      auto n = r.i64(e, p, lo, hi);
      return n ? std::optional<V>(static_cast<V>(*n)) : std::nullopt;
    }
    auto n = r.u64(e, p, hi);
    return n ? std::optional<V>(static_cast<V>(*n)) : std::nullopt;
  } else {
    auto n = r.i64(e, p, lo, hi);
    return n ? std::optional<V>(static_cast<V>(*n)) : std::nullopt;
  }
}

std::size_t list_limit(const DecodeLimits& l, schema::ListLimit limit) {
  switch (limit) {
    case schema::ListLimit::pids:
      return l.max_pids_per_worker;
    case schema::ListLimit::gpus:
      return l.max_gpus;
    case schema::ListLimit::none:
      break;
  }
  return l.max_workers;
}

template <class F, class M>
void read_member(Reader& r, element v, const Path& p, const F& f, M& m) {
  using V = typename F::Value;
  const auto& o = f.options;
  if constexpr (schema::is_list<M>) {
    auto a = r.arr(v, p, list_limit(r.limits_, o.limit));
    if (!a) return;
    m.reserve(a->size());
    for (element e : *a)
      if (auto x = read_value<V>(r, e, p, o.min, o.max)) m.push_back(*x);
  } else if (auto x = read_value<V>(r, v, p, o.min, o.max)) {
    if constexpr (schema::is_optional<M>)
      m.emplace(*x);
    else
      m = *x;
  }
}

// The place of `key` among `names`: `hint` first, since a Hive writes members in table order
// and the next key is almost always the one after the last; then every name.
template <std::size_t N>
std::size_t find_name(const std::array<std::string_view, N>& names, std::string_view key,
                      std::size_t hint) {
  if (hint < N && names[hint] == key) return hint;
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == key) return i;
  return Members::kOther;
}

// "must have service, instance and state" for a table's required members.
template <const auto& Table>
std::string must_have() {
  std::vector<std::string_view> required;
  schema::for_each_field(Table, [&](const auto& f) {
    if (f.options.required) required.push_back(f.name);
  });
  std::string out = "must have";
  for (std::size_t i = 0; i < required.size(); ++i) {
    out += i == 0 ? " " : i + 1 == required.size() ? " and " : ", ";
    out += required[i];
  }
  return out;
}

// The members of the object at `e` into x, each by its table entry. Unknown members are ignored:
// newer Hives may add fields.
template <const auto& Table, class T>
void read_fields(Reader& r, element e, const Path& path, T& x) {
  static constexpr auto names = schema::names_of(Table);
  static constexpr uint64_t required = [] {
    uint64_t bits = 0, bit = 1;
    schema::for_each_field(Table, [&](const auto& f) {
      if (f.options.required) bits |= bit;
      bit <<= 1;
    });
    return bits;
  }();
  auto o = r.obj(e, path);
  if (!o) return;
  std::size_t next = 0;
  uint64_t got = 0;
  auto index_of = [&next](std::string_view key) {
    const std::size_t i = find_name(names, key, next);
    if (i != Members::kOther) next = i + 1;
    return i;
  };
  auto read = [&](std::string_view, element v, const Path& p, std::size_t index) {
    if (index == Members::kOther) return;
    got |= uint64_t{1} << index;
    schema::visit_field(Table, index, [&](const auto& f) { read_member(r, v, p, f, x.*f.member); });
  };
  r.each_member(*o, path, index_of, read);
  if (!r.fail && (got & required) != required) r.error(path.str(), must_have<Table>());
}

void read_worker(Reader& r, element e, const Path& path, telemetry::Worker& w) {
  read_fields<schema::kWorker>(r, e, path, w);
}

void read_host(Reader& r, element e, telemetry::Host& h) {
  read_fields<schema::kHost>(r, e, Path{"host", Path::kNoIndex, {}}, h);
}

void read_gpu(Reader& r, element e, const Path& path, telemetry::Gpu& g) {
  read_fields<schema::kGpu>(r, e, path, g);
}

// Parses a whole document with the size and depth limits; one parser per thread, reused.
Result<element> parse(std::string_view json, const DecodeLimits& limits) {
  if (json.size() > limits.max_bytes)
    return make_error("body is " + std::to_string(json.size()) + " bytes, over the limit of " +
                      std::to_string(limits.max_bytes));
  thread_local simdjson::dom::parser parser;
  thread_local std::size_t allocated_depth = 0;
  if (allocated_depth != limits.max_depth || parser.capacity() < json.size()) {
    if (parser.allocate(std::max<std::size_t>(json.size(), 4096), limits.max_depth))
      return make_error("out of memory for the JSON parser");
    allocated_depth = limits.max_depth;
  }
  element doc;
  if (auto err = parser.parse(json.data(), json.size(), true).get(doc))
    return make_error(std::string("malformed JSON: ") + simdjson::error_message(err));
  return doc;
}

}  // namespace

Result<telemetry::Snapshot> decode_snapshot(std::string_view json, const DecodeLimits& limits) {
  telemetry::Snapshot s;
  if (auto st = decode_snapshot_into(json, s, limits); !st) return st.error();
  return s;
}

constexpr std::string_view kSnapshotMembers[] = {
    "schema_version", "hive_id", "instance_id", "seq",        "timestamp_ms", "interval_ms",
    "backend",        "host",    "gpus",        "gpus_stale", "workers"};

Status decode_snapshot_into(std::string_view json, telemetry::Snapshot& s,
                            const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  auto o = r.obj(*doc, "snapshot");
  if (!o) return make_error(r.fail->message);
  // Everything but the workers' storage back to a default-constructed snapshot.
  s.schema_version = telemetry::kSchemaVersion;
  s.hive_id.clear();
  s.instance_id.clear();
  s.seq = 0;
  s.timestamp_ms = 0;
  s.interval_ms = telemetry::Snapshot{}.interval_ms;
  s.backend.clear();
  s.host = {};
  s.gpus.clear();
  s.gpus_stale = false;
  std::size_t workers = 0;  // decoded so far; s.workers beyond are spare storage
  bool have_version = false, have_hive = false, have_instance = false, have_seq = false,
       have_workers = false;
  auto index_of = [](std::string_view key) { return index_in(kSnapshotMembers, key); };
  auto read_member = [&](std::string_view key, element v, const Path& p, std::size_t) {
    if (key == "schema_version") {
      if (auto n = r.i64(v, p, 1, 1000)) {
        if (*n != telemetry::kSchemaVersion)
          r.error(p.str(), std::to_string(*n) + " is not supported (this build speaks " +
                               std::to_string(telemetry::kSchemaVersion) + ")");
        s.schema_version = static_cast<int>(*n);
        have_version = true;
      }
    } else if (key == "hive_id") {
      if (auto id = r.str(v, p)) {
        if (id->empty()) r.error(p.str(), "must not be empty");
        s.hive_id = *id;
        have_hive = true;
      }
    } else if (key == "instance_id") {
      if (auto id = r.str(v, p)) s.instance_id = *id, have_instance = !id->empty();
    } else if (key == "seq") {
      if (auto n = r.u64(v, p)) s.seq = *n, have_seq = true;
    } else if (key == "timestamp_ms") {
      if (auto n = r.i64(v, p, 0, std::numeric_limits<int64_t>::max())) s.timestamp_ms = *n;
    } else if (key == "interval_ms") {
      if (auto n = r.u64(v, p, 3600 * 1000)) s.interval_ms = static_cast<uint32_t>(*n);
    } else if (key == "backend") {
      if (auto b = r.str(v, p)) s.backend = *b;
    } else if (key == "host") {
      read_host(r, v, s.host);
    } else if (key == "gpus") {
      if (auto a = r.arr(v, p, limits.max_gpus)) {
        s.gpus.reserve(a->size());
        std::size_t i = 0;
        for (element g : *a) read_gpu(r, g, Path{"gpus", i++, {}}, s.gpus.emplace_back());
      }
    } else if (key == "gpus_stale") {
      bool b = false;
      if (v.get_bool().get(b)) r.error(p.str(), "must be true or false");
      s.gpus_stale = b;
    } else if (key == "workers") {
      if (auto a = r.arr(v, p, limits.max_workers)) {
        have_workers = true;
        if (s.workers.size() < workers + a->size()) s.workers.reserve(workers + a->size());
        std::size_t i = 0;
        for (element w : *a) {
          telemetry::Worker* target;
          if (workers < s.workers.size()) {
            target = &s.workers[workers];
            reset_worker(*target);
          } else {
            target = &s.workers.emplace_back();
          }
          ++workers;
          read_worker(r, w, Path{"workers", i++, {}}, *target);
          if (r.fail) break;
        }
      }
    }
  };
  r.each_member(*o, Path{}, index_of, read_member);
  if (r.fail) return make_error(r.fail->message);
  if (!have_version || !have_hive || !have_instance || !have_seq || !have_workers)
    return make_error("snapshot must have schema_version, hive_id, instance_id, seq and workers");
  s.workers.resize(workers);
  return Ok{};
}

Result<std::vector<telemetry::Worker>> decode_worker_list(std::string_view json,
                                                          const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  auto top = r.unique_obj(*doc, Path{});
  if (!top) return make_error(r.fail->message);
  element workers;
  if (top->at_key("workers").get(workers)) return make_error("workers: missing");
  std::vector<telemetry::Worker> out;
  if (auto a = r.arr(workers, "workers", limits.max_workers)) {
    std::size_t i = 0;
    out.reserve(a->size());
    for (element w : *a) {
      read_worker(r, w, Path{"workers", i++, {}}, out.emplace_back());
      if (r.fail) break;
    }
  }
  if (r.fail) return make_error(r.fail->message);
  return out;
}

Result<telemetry::Worker> decode_worker(std::string_view json, const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  telemetry::Worker w;
  read_worker(r, *doc, Path{"worker", Path::kNoIndex, {}}, w);
  if (r.fail) return make_error(r.fail->message);
  return w;
}

constexpr std::string_view kSpawnMembers[] = {"service", "port", "args", "env", "gpus"};

Result<api::SpawnRequest> decode_spawn_request(std::string_view json, const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  auto o = r.obj(*doc, "request");
  if (!o) return make_error(r.fail->message);
  api::SpawnRequest req;
  bool have_service = false;
  auto index_of = [](std::string_view key) { return index_in(kSpawnMembers, key); };
  auto read_member = [&](std::string_view key, element v, const std::string& p, std::size_t) {
    if (key == "service") {
      if (auto s = r.str(v, p)) req.service = *s, have_service = true;
    } else if (key == "port") {
      if (auto n = r.i64(v, p, 1, 65535)) req.port = static_cast<uint16_t>(*n);
    } else if (key == "args") {
      if (auto a = r.arr(v, p, limits.max_args)) {
        for (element ae : *a) {
          std::string_view s;
          if (ae.get_string().get(s) || s.size() > limits.max_arg_length ||
              s.find('\0') != std::string_view::npos) {
            r.error(p, "must be strings of at most " + std::to_string(limits.max_arg_length) +
                           " bytes without NUL");
            break;
          }
          req.args.emplace_back(s);
        }
      }
    } else if (key == "env") {
      if (auto eo = r.obj(v, p)) {
        if (eo->size() > limits.max_env)
          return r.error(p, "has more than " + std::to_string(limits.max_env) + " entries");
        r.each_member(*eo, p, no_table,
                      [&](std::string_view name, element val, const std::string& np, std::size_t) {
                        std::string_view s;
                        if (name.empty() || name.size() > limits.max_string ||
                            name.find_first_of("=\0", 0, 2) != std::string_view::npos ||
                            val.get_string().get(s) || s.size() > limits.max_arg_length ||
                            s.find('\0') != std::string_view::npos)
                          return r.error(np, "must be a string (names without '=')");
                        req.env.emplace(std::string(name), std::string(s));
                      });
      }
    } else if (key == "gpus") {
      if (auto a = r.arr(v, p, limits.max_gpus)) {
        std::vector<uint32_t> gpus;
        for (element ge : *a) {
          if (auto n = r.u64(ge, p, 1023)) gpus.push_back(static_cast<uint32_t>(*n));
        }
        req.gpus = std::move(gpus);
      }
    } else {
      r.error(p, "is not a known field (service, port, args, env, gpus)");
    }
  };
  r.each_member(*o, std::string(), index_of, read_member);
  if (r.fail) return make_error(r.fail->message);
  if (!have_service) return make_error("service: missing");
  return req;
}

std::string decode_error_message(std::string_view json) {
  DecodeLimits limits;
  limits.max_bytes = 64 * 1024;
  auto doc = parse(json, limits);
  Reader r(limits);
  std::string_view msg;
  if (doc) {
    // With "error" repeated, which one is meant is unknown: the body as it is says both.
    if (auto o = r.unique_obj(*doc, Path{}); o && !o->at_key("error").get_string().get(msg))
      return std::string(msg);
  }
  return std::string(json.substr(0, 200));
}

// --- Added for rbee-queen -------------------------------------------------------------------

constexpr std::string_view kCapabilitiesMembers[] = {"hive_id",
                                                     "instance_id",
                                                     "version",
                                                     "schema_version",
                                                     "backend",
                                                     "cgroup_root",
                                                     "controllers",
                                                     "interval_ms",
                                                     "auth",
                                                     "cpus",
                                                     "memory_total_bytes",
                                                     "gpus",
                                                     "services",
                                                     "subscription"};
constexpr std::string_view kServiceMembers[] = {"name", "base_port", "restart"};
constexpr std::string_view kSubscriptionMembers[] = {"queen_url", "drop_after_ms"};

Result<Capabilities> decode_capabilities(std::string_view json, const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  auto o = r.obj(*doc, "capabilities");
  if (!o) return make_error(r.fail->message);
  Capabilities c;
  auto index_of = [](std::string_view key) { return index_in(kCapabilitiesMembers, key); };
  auto read_member = [&](std::string_view key, element v, const std::string& p, std::size_t) {
    if (key == "hive_id") {
      if (auto s = r.str(v, p)) c.hive_id = *s;
    } else if (key == "instance_id") {
      if (auto s = r.str(v, p)) c.instance_id = *s;
    } else if (key == "version") {
      if (auto s = r.str(v, p)) c.version = *s;
    } else if (key == "schema_version") {
      if (auto n = r.i64(v, p, 0, 1000)) c.schema_version = static_cast<int>(*n);
    } else if (key == "backend") {
      if (auto s = r.str(v, p)) c.backend = *s;
    } else if (key == "cgroup_root") {
      if (auto s = r.str(v, p)) c.cgroup_root = *s;
    } else if (key == "controllers") {
      if (auto a = r.arr(v, p, 64)) {
        for (element ce : *a) {
          if (auto s = r.str(ce, p)) c.controllers.emplace_back(*s);
        }
      }
    } else if (key == "interval_ms") {
      if (auto n = r.u64(v, p, 3600 * 1000)) c.interval_ms = static_cast<uint32_t>(*n);
    } else if (key == "auth") {
      if (auto s = r.str(v, p)) c.auth = *s;
    } else if (key == "cpus") {
      if (auto n = r.u64(v, p, 1u << 20)) c.cpus = static_cast<uint32_t>(*n);
    } else if (key == "memory_total_bytes") {
      set(c.memory_total_bytes, r.u64(v, p));
    } else if (key == "gpus") {
      // A count in this version; a newer Hive may send a list, which is not an error.
      uint64_t n;
      if (!v.get_uint64().get(n)) c.gpus = n;
    } else if (key == "services") {
      if (auto a = r.arr(v, p, 1024)) {
        std::size_t i = 0;
        for (element se : *a) {
          const std::string sp = "services[" + std::to_string(i++) + "]";
          auto so = r.obj(se, sp);
          if (!so) break;
          CapabilityService svc;
          auto service_index = [](std::string_view k) { return index_in(kServiceMembers, k); };
          r.each_member(*so, sp, service_index,
                        [&](std::string_view sk, element sv, const std::string& mp, std::size_t) {
                          if (sk == "name") {
                            if (auto s = r.str(sv, mp)) svc.name = *s;
                          } else if (sk == "base_port") {
                            if (auto n = r.i64(sv, mp, 1, 65535))
                              svc.base_port = static_cast<uint16_t>(*n);
                          } else if (sk == "restart") {
                            if (auto s = r.str(sv, mp)) svc.restart = *s;
                          }
                        });
          if (r.fail) break;
          c.services.push_back(std::move(svc));
        }
      }
    } else if (key == "subscription") {
      if (auto so = r.obj(v, p)) {
        auto subscription_index = [](std::string_view k) {
          return index_in(kSubscriptionMembers, k);
        };
        r.each_member(
            *so, p, subscription_index,
            [&](std::string_view sk, element sv, const std::string&, std::size_t) {
              if (sk == "queen_url") {
                DecodeLimits url_limits = limits;
                url_limits.max_string = 2048;
                Reader ur(url_limits);
                if (auto s = ur.str(sv, "subscription.queen_url"))
                  c.subscription_queen_url = std::string(*s);
                else
                  r.error("subscription.queen_url", "must be a string of at most 2048 bytes");
              } else if (sk == "drop_after_ms") {
                set(c.subscription_drop_after_ms, r.u64(sv, "subscription.drop_after_ms"));
              }
            });
      }
    }
  };
  r.each_member(*o, std::string(), index_of, read_member);
  if (r.fail) return make_error(r.fail->message);
  if (c.hive_id.empty() || c.instance_id.empty())
    return make_error("capabilities must have hive_id and instance_id");
  return c;
}

Result<std::vector<HostedWorker>> decode_hosted_workers(std::string_view json,
                                                        const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  auto top = r.unique_obj(*doc, Path{});
  if (!top) return make_error(r.fail->message);
  element workers;
  if (top->at_key("workers").get(workers)) return make_error("workers: missing");
  std::vector<HostedWorker> out;
  if (auto a = r.arr(workers, "workers", limits.max_workers * 16)) {
    std::size_t i = 0;
    for (element w : *a) {
      HostedWorker& hw = out.emplace_back();
      read_worker(r, w, Path{"workers", i++, {}}, hw.worker);
      if (r.fail) break;
      // read_worker refused a repeated member of any name: at_key finds the only one.
      std::string_view s;
      if (!w.at_key("hive_id").get_string().get(s)) hw.hive_id = std::string(s.substr(0, 256));
      if (!w.at_key("url").get_string().get(s)) hw.url = std::string(s.substr(0, 2048));
    }
  }
  if (r.fail) return make_error(r.fail->message);
  return out;
}

Result<std::vector<HiveSummary>> decode_hive_list(std::string_view json,
                                                  const DecodeLimits& limits) {
  auto doc = parse(json, limits);
  if (!doc) return doc.error();
  Reader r(limits);
  auto top = r.unique_obj(*doc, Path{});
  if (!top) return make_error(r.fail->message);
  element hives;
  if (top->at_key("hives").get(hives)) return make_error("hives: missing");
  std::vector<HiveSummary> out;
  if (auto a = r.arr(hives, "hives", 100000)) {
    std::size_t i = 0;
    for (element h : *a) {
      if (!r.unique_obj(h, Path{"hives", i++, {}})) break;
      HiveSummary& s = out.emplace_back();
      auto text = [&](const char* key, std::string& dst) {
        std::string_view v;
        if (!h.at_key(key).get_string().get(v)) dst = std::string(v.substr(0, 4096));
      };
      text("id", s.id);
      text("alias", s.alias);
      text("address", s.address);
      text("source", s.source);
      text("status", s.status);
      text("instance_id", s.instance_id);
      text("last_error", s.last_error);
      int64_t n;
      uint64_t u;
      if (!h.at_key("last_seen_ms").get_int64().get(n)) s.last_seen_ms = n;
      if (!h.at_key("age_ms").get_int64().get(n)) s.age_ms = n;
      if (!h.at_key("seq").get_uint64().get(u)) s.seq = u;
      if (!h.at_key("worker_count").get_uint64().get(u)) s.worker_count = u;
    }
  }
  if (r.fail) return make_error(r.fail->message);
  return out;
}

}  // namespace rbee::json
