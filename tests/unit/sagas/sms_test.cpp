// The SMS gateway participant's rules, through its typed contract on a dispatcher.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "sagaflow/sagas/sms.hpp"

using namespace sagaflow;

namespace {

struct Sms {
  // The certificates' CVCs, as the certificates service would answer them by code.
  Sms() {
    service.register_handlers(dispatcher);
    service.set_cvc_source([this](const std::string& code) {
      auto it = cvcs.find(code);
      return it == cvcs.end() ? std::string{} : it->second;
    });
  }
  Message send_cvc(const std::string& line, const std::string& phone, const std::string& key) {
    Message m;
    m.id = key + "/1";
    m.idempotency_key = key;
    m.type = "sms.send_cvc";
    m.body = json::serialize(json::object{
        {"order_id", "o1"}, {"order_line_id", line}, {"code", "GC-" + line}, {"phone", phone}});
    return dispatcher.handle(m);
  }
  std::map<std::string, std::string> cvcs{{"GC-l1", "123"}, {"GC-l2", "456"}};
  sagas::SmsService service;
  worker::Dispatcher dispatcher;
};

}  // namespace

TEST_CASE("sms: send_cvc sends the certificate's CVC to the recipient's phone") {
  Sms s;
  auto reply = s.send_cvc("l1", "+79161234567", "k1");
  REQUIRE(reply.outcome == ReplyOutcome::success);
  auto messages = s.service.messages();
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].phone == "+79161234567");
  CHECK(messages[0].text.find("123") != std::string::npos);
  CHECK(messages[0].command_id == "k1");
  CHECK(json::parse(reply.body).at("message_id").as_string() == messages[0].message_id);
}

TEST_CASE("sms: send_cvc fetches the CVC by code at send time, the command carries none") {
  Sms s;
  s.cvcs["GC-l1"] = "789";  // whatever the certificates service holds when the SMS goes
  auto reply = s.send_cvc("l1", "+79161234567", "k1");
  REQUIRE(reply.outcome == ReplyOutcome::success);
  CHECK(reply.body.find("789") == std::string::npos);
  auto messages = s.service.messages();
  REQUIRE(messages.size() == 1);
  CHECK(messages[0].code == "GC-l1");
  CHECK(messages[0].text.find("789") != std::string::npos);
}

TEST_CASE(
    "sms: no CVC to fetch (no source, or none for the code) is CvcUnavailable, sends nothing") {
  Sms s;
  s.cvcs.erase("GC-l1");
  auto unknown = s.send_cvc("l1", "+79161234567", "k1");
  CHECK(unknown.outcome == ReplyOutcome::business_failure);
  CHECK(unknown.error_code == "CvcUnavailable");
  s.cvcs["GC-l1"] = "";
  CHECK(s.send_cvc("l1", "+79161234567", "k2").error_code == "CvcUnavailable");
  CHECK(s.service.messages().empty());

  sagas::SmsService unwired;  // never given a source
  worker::Dispatcher dispatcher;
  unwired.register_handlers(dispatcher);
  Message m;
  m.id = "k3/1";
  m.idempotency_key = "k3";
  m.type = "sms.send_cvc";
  m.body = json::serialize(json::object{
      {"order_id", "o1"}, {"order_line_id", "l2"}, {"code", "GC-l2"}, {"phone", "+79161234567"}});
  auto reply = dispatcher.handle(m);
  CHECK(reply.outcome == ReplyOutcome::business_failure);
  CHECK(reply.error_code == "CvcUnavailable");
  CHECK(unwired.messages().empty());
}

TEST_CASE("sms: an invalid phone number is a business failure and sends nothing") {
  Sms s;
  for (const char* phone : {"", "79161234567", "+7916", "+7916abc4567", "+1234567890123456"}) {
    auto reply = s.send_cvc("l1", phone, std::string("k-") + phone);
    CHECK(reply.outcome == ReplyOutcome::business_failure);
    CHECK(reply.error_code == "InvalidPhoneNumber");
  }
  CHECK(s.service.messages().empty());
}

TEST_CASE("sms: an unavailable gateway answers a technical error, and the retry sends once") {
  Sms s;
  s.service.set_unavailable(true);
  auto down = s.send_cvc("l1", "+79161234567", "s1/send_cvc[0]/do");
  CHECK(down.outcome == ReplyOutcome::technical_error);
  CHECK(down.error_code == "SmsGatewayUnavailable");
  CHECK(s.service.messages().empty());
  s.service.set_unavailable(false);
  auto up = s.send_cvc("l1", "+79161234567", "s1/send_cvc[0]/do");  // not remembered: runs again
  CHECK(up.outcome == ReplyOutcome::success);
  CHECK(s.service.messages().size() == 1);
}

TEST_CASE("sms: the same CVC asked for again, by key or by order line, is sent once") {
  Sms s;
  auto first = s.send_cvc("l1", "+79161234567", "k1");
  auto same_key = s.send_cvc("l1", "+79161234567", "k1");
  auto same_line = s.send_cvc("l1", "+79161234567", "k2");
  CHECK(first.body == same_key.body);
  CHECK(first.body == same_line.body);
  s.send_cvc("l2", "+79161234568", "k3");
  CHECK(s.service.messages().size() == 2);
  CHECK(s.service.each_line_sent_at_most_once());
}
