#pragma once
// Blocking HTTP calls for command-line tools and tests: each runs its own io_context, so never
// call them inside a daemon's loop. See docs/http.md.
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "common/http/connection.h"
#include "common/http/url.h"
#include "common/result.h"

namespace rbee::http {

// One request on a connection of its own. Any status is a successful Result; errors are transport
// errors, one line.
rbee::Result<ClientResponse> fetch(boost::beast::http::verb method, std::string_view url,
                                   std::string body = {}, std::string_view bearer_token = {},
                                   ClientOptions options = {});

// Blocking SSE reader for CLIs and tests: connects, calls on_event(event_name, data) for each
// event (name "message" when the event has none; comments skipped) until on_event returns false
// (Ok), the server ends the stream (Ok) or `timeout` passes since the call (error).
rbee::Status read_event_stream(
    std::string_view url, std::string_view bearer_token, std::chrono::milliseconds timeout,
    const std::function<bool(std::string_view event, std::string_view data)>& on_event);

}  // namespace rbee::http
