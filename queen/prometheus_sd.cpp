#include "queen/prometheus_sd.h"

#include "common/http/url.h"
#include "common/json/writer.h"

namespace rbee::queen {

std::string prometheus_targets(const std::vector<const HiveEntry*>& hives) {
  json::Writer w;
  w.begin_array();
  for (const HiveEntry* h : hives) {
    // A down Hive stays listed by the API but would only add a failing scrape; it comes back
    // with its next snapshot, within one refresh of the discovery.
    if (h->status == HiveStatus::down || h->host.empty() || h->port == 0) continue;
    w.begin_object().key("targets").begin_array();
    w.value(http::url_host(h->host) + ":" + std::to_string(h->port));
    w.end_array().key("labels").begin_object();
    // Prometheus treats an empty label as an absent one; leaving it out says the same plainly.
    if (!h->id.empty()) w.field("hive_id", h->id);
    if (!h->alias.empty()) w.field("alias", h->alias);
    w.field("source", to_string(h->source));
    w.end_object().end_object();
  }
  w.end_array();
  return w.take();
}

}  // namespace rbee::queen
