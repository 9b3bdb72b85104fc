#include <catch2/catch.hpp>

#include "common/http/event_stream.h"

using rbee::http::EventSink;
using rbee::http::EventStream;

namespace {

struct FakeSink : EventSink {
  bool deliver(const std::shared_ptr<const std::string>& frame) override {
    frames.push_back(*frame);
    return accept;
  }
  std::vector<std::string> frames;
  bool accept = true;
};

}  // namespace

TEST_CASE("event stream formats one event with a name and a data line") {
  CHECK(EventStream::format("worker", R"({"id":1})") == "event: worker\ndata: {\"id\":1}\n\n");
}

TEST_CASE("event stream splits multi-line data into several data lines") {
  CHECK(EventStream::format("e", "a\nb\r\nc\rd") ==
        "event: e\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
  CHECK(EventStream::format("e", "") == "event: e\ndata: \n\n");
  CHECK(EventStream::format("e", "x\n") == "event: e\ndata: x\ndata: \n\n");
}

TEST_CASE("event stream omits an empty event name and drops line breaks from a name") {
  CHECK(EventStream::format("", "x") == "data: x\n\n");
  CHECK(EventStream::format("a\nb", "x") == "event: ab\ndata: x\n\n");
}

TEST_CASE("event stream publishes to every attached sink and forgets dropped ones") {
  auto hub = std::make_shared<EventStream>();
  auto a = std::make_shared<FakeSink>();
  auto b = std::make_shared<FakeSink>();
  hub->attach(a);
  hub->attach(b);
  CHECK(hub->client_count() == 2);
  hub->publish("t", "1");
  CHECK(a->frames == std::vector<std::string>{"event: t\ndata: 1\n\n"});
  CHECK(b->frames == a->frames);

  b->accept = false;  // b falls behind and refuses
  hub->publish("t", "2");
  CHECK(hub->client_count() == 1);
  hub->publish("t", "3");
  CHECK(a->frames.size() == 3);
  CHECK(b->frames.size() == 2);

  a.reset();  // a's session ended
  CHECK(hub->client_count() == 0);
}
