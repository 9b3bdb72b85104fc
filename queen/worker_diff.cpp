#include "queen/worker_diff.h"

#include <algorithm>
#include <string>

namespace rbee::queen {

namespace {

// Workers are the same worker when their "service/instance" keys are equal. Compares those keys
// as the joined strings would compare, without joining them.
int compare_joined(const telemetry::Worker& a, const telemetry::Worker& b) {
  if (a.service.size() == b.service.size()) {
    // The '/' sits at the same place in both: service first, then instance.
    if (int c = a.service.compare(b.service)) return c;
    return a.instance.compare(b.instance);
  }
  const std::size_t na = a.service.size() + 1 + a.instance.size();
  const std::size_t nb = b.service.size() + 1 + b.instance.size();
  auto at = [](const telemetry::Worker& w, std::size_t i) -> unsigned char {
    if (i < w.service.size()) return static_cast<unsigned char>(w.service[i]);
    if (i == w.service.size()) return '/';
    return static_cast<unsigned char>(w.instance[i - w.service.size() - 1]);
  };
  for (std::size_t i = 0, n = std::min(na, nb); i < n; ++i) {
    const unsigned char ca = at(a, i), cb = at(b, i);
    if (ca != cb) return ca < cb ? -1 : 1;
  }
  return na < nb ? -1 : na > nb ? 1 : 0;
}

// (service, instance): the order a Hive lists its workers in. When no service holds a '/', two
// workers have equal joined keys exactly when their pairs are equal, so this order serves too.
int compare_pairs(const telemetry::Worker& a, const telemetry::Worker& b) {
  if (int c = a.service.compare(b.service)) return c;
  return a.instance.compare(b.instance);
}

bool any_slash_in_service(const std::vector<telemetry::Worker>& workers) {
  return std::any_of(workers.begin(), workers.end(), [](const telemetry::Worker& w) {
    return w.service.find('/') != std::string::npos;
  });
}

// Indices of `workers` ordered by `cmp`, equal keys in their original order. Hives send their
// workers sorted, so this is usually just the check.
template <class Cmp>
void sorted_order(const std::vector<telemetry::Worker>& workers, Cmp cmp,
                  std::vector<uint32_t>& order) {
  order.resize(workers.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  auto less = [&](uint32_t a, uint32_t b) { return cmp(workers[a], workers[b]) < 0; };
  if (!std::is_sorted(order.begin(), order.end(), less))
    std::stable_sort(order.begin(), order.end(), less);
}

}  // namespace

void diff_workers(const std::vector<telemetry::Worker>& old,
                  const std::vector<telemetry::Worker>& workers, WorkerDiff& out) {
  thread_local std::vector<uint32_t> old_order, new_order;
  auto& match = out.held_index;
  auto& removed = out.removed;
  const bool joined = any_slash_in_service(old) || any_slash_in_service(workers);
  auto compare_keys = [joined](const telemetry::Worker& a, const telemetry::Worker& b) {
    return joined ? compare_joined(a, b) : compare_pairs(a, b);
  };
  sorted_order(old, compare_keys, old_order);
  sorted_order(workers, compare_keys, new_order);
  match.assign(workers.size(), -1);
  removed.assign(old.size(), 0);
  std::size_t i = 0, j = 0;
  while (i < old_order.size() || j < new_order.size()) {
    int c;
    if (i == old_order.size())
      c = 1;
    else if (j == new_order.size())
      c = -1;
    else
      c = compare_keys(old[old_order[i]], workers[new_order[j]]);
    if (c < 0) {
      removed[old_order[i++]] = 1;
    } else if (c > 0) {
      ++j;
    } else {
      const auto& key_worker = old[old_order[i]];
      match[new_order[j++]] = old_order[i++];
      while (i < old_order.size() && compare_keys(old[old_order[i]], key_worker) == 0) ++i;
      while (j < new_order.size() && compare_keys(workers[new_order[j]], key_worker) == 0) ++j;
    }
  }
}

}  // namespace rbee::queen
