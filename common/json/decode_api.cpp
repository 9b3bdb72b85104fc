// The Hive API's request bodies and its error bodies.
#include "common/json/decode.h"

#include <limits>

#include "common/json/reader.h"

namespace rbee::json {

using namespace detail;

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

}  // namespace rbee::json
