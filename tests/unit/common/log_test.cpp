#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "common/log.h"
#include "hive/cli.h"
#include "queen/cli.h"

using rbee::escape_for_log;
using namespace std::string_literals;

TEST_CASE("log escaping keeps printable text and UTF-8 as it is") {
  CHECK(escape_for_log("hive gpu-01 (10.0.0.1:7833) answers again") ==
        "hive gpu-01 (10.0.0.1:7833) answers again");
  CHECK(escape_for_log("") == "");
  CHECK(escape_for_log("Grüße, ノード, \xf0\x9f\x90\x9d") == "Grüße, ノード, \xf0\x9f\x90\x9d");
  CHECK(escape_for_log("\xc2\xa0") == "\xc2\xa0");  // U+00A0, the first after the C1 block
}

TEST_CASE("log escaping turns what could forge a line or drive a terminal into hex escapes") {
  // A forged second line, and the terminal title and colour escapes.
  CHECK(escape_for_log("evil\n2024-01-01T00:00:00.000 info hive x answers again") ==
        "evil\\x0a2024-01-01T00:00:00.000 info hive x answers again");
  CHECK(escape_for_log("\x1b]0;owned\x07\x1b[31mred\r") == "\\x1b]0;owned\\x07\\x1b[31mred\\x0d");
  CHECK(escape_for_log("a\0b"s) == "a\\x00b");
  CHECK(escape_for_log("\t\x7f") == "\\x09\\x7f");
  // Backslash too, so that an escape in the log always means the byte was there.
  CHECK(escape_for_log("C:\\x0a") == "C:\\x5cx0a");
  // C1 controls (U+0080..U+009F): U+009B is a CSI to terminals that take 8-bit controls.
  CHECK(escape_for_log("\xc2\x9b"
                       "31m") == "\\xc2\\x9b31m");
  CHECK(escape_for_log("\xc2\x80") == "\\xc2\\x80");
}

TEST_CASE("log escaping turns bytes that are not valid UTF-8 into hex escapes, one by one") {
  CHECK(escape_for_log("\xff") == "\\xff");
  CHECK(escape_for_log("\x80"
                       "a") == "\\x80a");                      // a lone continuation byte
  CHECK(escape_for_log("\xc3") == "\\xc3");                    // truncated
  CHECK(escape_for_log("\xc3(") == "\\xc3(");                  // not followed by a continuation
  CHECK(escape_for_log("\xc0\xaf") == "\\xc0\\xaf");           // overlong '/'
  CHECK(escape_for_log("\xe0\x80\xaf") == "\\xe0\\x80\\xaf");  // overlong, 3 bytes
  CHECK(escape_for_log("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
  CHECK(escape_for_log("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  CHECK(escape_for_log("\xe2\x82") == "\\xe2\\x82");                    // truncated at the end
  CHECK(escape_for_log("\xe2\x82\xac") == "\xe2\x82\xac");              // the euro sign is fine
}

TEST_CASE("the CLIs' tables show names from the network escaped, one row a line") {
  rbee::telemetry::Worker w;
  w.service = "evil\x1b[2J";
  w.instance = "1\nforged";
  const auto table = rbee::hive::format_worker_table({w});
  CHECK(table.find('\x1b') == std::string::npos);
  CHECK(table.find("evil\\x1b[2J/1\\x0aforged") != std::string::npos);
  CHECK(std::count(table.begin(), table.end(), '\n') == 2);  // the header and one row

  rbee::json::HiveSummary h;
  h.id = "h\r\x07";
  h.last_error = "bad \x1b]0;title\x07";
  const auto hives = rbee::queen::format_hive_table({h});
  CHECK(hives.find('\x1b') == std::string::npos);
  CHECK(hives.find('\r') == std::string::npos);
  CHECK(hives.find("bad \\x1b]0;title\\x07") != std::string::npos);
  rbee::json::HostedWorker hw;
  hw.hive_id = "x\x1b";
  hw.worker = w;
  const auto hosted = rbee::queen::format_hosted_worker_table({hw});
  CHECK(hosted.find('\x1b') == std::string::npos);
  CHECK(std::count(hosted.begin(), hosted.end(), '\n') == 2);
}
