#include "common/json/schema_reader.h"

#include <type_traits>

#include "common/telemetry_schema.h"

namespace rbee::json::detail {

namespace {

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

template <const auto& Table, class T>
void read_fields(Reader& r, element e, const Path& path, T& x);

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
  if constexpr (schema::Object<V>) {
    V x{};
    read_fields<schema::TableOf<V>::table>(r, e, p, x);
    if (r.fail) return std::nullopt;
    return x;
  } else if constexpr (std::is_same_v<V, std::string>) {
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

}  // namespace

void reset_worker(telemetry::Worker& w) {
  reset_fields<schema::kWorker>(w);
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

}  // namespace rbee::json::detail
