// The client's asynchronous side against a real threaded keep-alive server: the concurrency
// bound, ordered batch results, connection reuse, pull-style streams (complete, slow reader,
// cancelled), completions, closing with calls in flight, and the rule that a callback may not
// make a blocking call.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "api/requests.h"
#include "client/http_client.h"
#include "test_server.h"

namespace seekd::client {
namespace {

using testing::RawRequest;
using testing::ThreadedServer;
using testing::Writer;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

json Req(const std::string& text) {
  return {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", text}}}}};
}

// Answers a chat call with the user's text as the reply (so results can be matched to calls).
std::string Echo(const RawRequest& r) {
  const json body = json::parse(r.body);
  const json reply = {
      {"id", "x"},
      {"object", "chat.completion"},
      {"choices",
       {{{"index", 0},
         {"message", {{"role", "assistant"}, {"content", body["messages"][0]["content"]}}},
         {"finish_reason", "stop"}}}}};
  return ThreadedServer::Reply(200, reply.dump());
}

std::string Chunk(const std::string& content) {
  return "data: " +
         json({{"id", "c"}, {"choices", {{{"index", 0}, {"delta", {{"content", content}}}}}}})
             .dump() +
         "\n\n";
}
const std::string kEnd =
    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: [DONE]\n\n";

std::string ContentOf(const JsonResult& r) {
  if (!std::holds_alternative<json>(r)) return "error: " + std::get<api::ApiError>(r).message;
  return std::get<json>(r)["choices"][0]["message"]["content"];
}

TEST(ClientAsync, AtMostMaxConcurrencyInFlight) {
  ThreadedServer s([](const RawRequest& r, const Writer& w) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    w(Echo(r));
    return true;
  });
  ClientOptions o;
  o.base_url = s.url();
  o.max_concurrency = 3;
  Client c(o);
  const auto t0 = Clock::now();
  std::vector<std::future<JsonResult>> fs;
  for (int i = 0; i < 9; ++i) fs.push_back(c.ChatAsync(Req("r" + std::to_string(i))));
  for (int i = 0; i < 9; ++i) EXPECT_EQ(ContentOf(fs[i].get()), "r" + std::to_string(i));
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_EQ(s.max_active(), 3);
  EXPECT_GE(took, 3 * 0.15 - 0.01);  // three rounds of three
  EXPECT_LE(s.connections(), 3);     // kept-alive connections, reused round after round
}

TEST(ClientAsync, BatchKeepsOrderUnderItsOwnBound) {
  ThreadedServer s([](const RawRequest& r, const Writer& w) {
    // Later requests answer sooner, so completion order differs from request order.
    const json body = json::parse(r.body);
    const int i = std::stoi(body["messages"][0]["content"].get<std::string>());
    std::this_thread::sleep_for(std::chrono::milliseconds(10 * (12 - i)));
    w(Echo(r));
    return true;
  });
  ClientOptions o;
  o.base_url = s.url();
  Client c(o);
  std::vector<json> reqs;
  for (int i = 0; i < 12; ++i) reqs.push_back(Req(std::to_string(i)));
  const auto out = c.ChatBatch(reqs, 4);
  ASSERT_EQ(out.size(), 12u);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(ContentOf(out[i]), std::to_string(i));
  EXPECT_EQ(s.max_active(), 4);
  EXPECT_TRUE(c.ChatBatch({}, 4).empty());
}

TEST(ClientAsync, SequentialCallsReuseOneConnection) {
  ThreadedServer s([](const RawRequest& r, const Writer& w) {
    w(Echo(r));
    return true;
  });
  ClientOptions o;
  o.base_url = s.url();
  Client c(o);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ContentOf(c.Chat(Req("x"))), "x");
  EXPECT_EQ(s.connections(), 1);
  EXPECT_EQ(s.requests().size(), 5u);
}

TEST(ClientAsync, StreamReaderYieldsEveryDeltaToASlowReader) {
  const int n = 3000;  // far more than the reader buffers: reading pauses and resumes
  ThreadedServer s([&](const RawRequest&, const Writer& w) {
    std::string all = ThreadedServer::StreamHead();
    for (int i = 0; i < n; ++i) all += Chunk(std::to_string(i % 10));
    w(all + kEnd);
    return false;
  });
  ClientOptions o;
  o.base_url = s.url();
  Client c(o);
  auto reader = c.OpenChatStream(Req("go"));
  std::string seen;
  int count = 0;
  while (auto d = reader->Next()) {
    seen += d->content;
    if (++count % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string want;
  for (int i = 0; i < n; ++i) want += std::to_string(i % 10);
  EXPECT_EQ(seen, want);
  const StreamResult& r = reader->result();
  ASSERT_TRUE(std::holds_alternative<api::ChatStreamAccumulator>(r));
  EXPECT_EQ(std::get<api::ChatStreamAccumulator>(r).choices()[0].content, want);
  EXPECT_EQ(std::get<api::ChatStreamAccumulator>(r).choices()[0].finish_reason, "stop");
}

TEST(ClientAsync, CancellingAReaderClosesTheConnection) {
  std::atomic<bool> client_left{false};
  ThreadedServer s([&](const RawRequest&, const Writer& w) {
    if (!w(ThreadedServer::StreamHead())) return false;
    for (int i = 0; i < 400; ++i) {  // 20 s of tokens unless the client goes
      if (!w(Chunk("t"))) {
        client_left = true;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  });
  ClientOptions o;
  o.base_url = s.url();
  Client c(o);
  auto reader = c.OpenChatStream(Req("go"));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(reader->Next().has_value());
  const auto t0 = Clock::now();
  reader->Cancel();
  while (reader->Next()) {
  }
  const StreamResult& r = reader->result();
  ASSERT_TRUE(std::holds_alternative<api::ApiError>(r));
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 1.0);
  for (int i = 0; i < 40 && !client_left; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(client_left);  // the server's next write failed: the connection was closed
}

TEST(ClientAsync, StreamAsyncAndCompletions) {
  ThreadedServer s([](const RawRequest& r, const Writer& w) {
    const json body = json::parse(r.body);
    if (r.target == "/v1/completions" && !body["stream"].get<bool>()) {
      w(ThreadedServer::Reply(
          200,
          R"({"id":"t","object":"text_completion","choices":[{"index":0,"text":"42","finish_reason":"length"}]})"));
      return true;
    }
    std::string out = ThreadedServer::StreamHead();
    if (r.target == "/v1/completions") {
      out += "data: {\"id\":\"t\",\"choices\":[{\"index\":0,\"text\":\"4\"}]}\n\n";
      out +=
          "data: {\"id\":\"t\",\"choices\":[{\"index\":0,\"text\":\"2\",\"finish_reason\":"
          "\"length\"}]}\n\ndata: [DONE]\n\n";
    } else {
      out += Chunk("He") + Chunk("y") + kEnd;
    }
    w(out);
    return false;
  });
  ClientOptions o;
  o.base_url = s.url();
  Client c(o);
  auto text = c.Completion({{"model", "m"}, {"prompt", "6*7="}});
  ASSERT_TRUE(std::holds_alternative<json>(text));
  EXPECT_EQ(std::get<json>(text)["choices"][0]["text"], "42");
  auto streamed = c.CompletionStream({{"model", "m"}, {"prompt", "6*7="}});
  ASSERT_TRUE(std::holds_alternative<api::ChatStreamAccumulator>(streamed));
  EXPECT_EQ(std::get<api::ChatStreamAccumulator>(streamed).choices()[0].content, "42");
  EXPECT_EQ(std::get<api::ChatStreamAccumulator>(streamed).choices()[0].finish_reason, "length");
  std::string seen;
  auto f = c.ChatStreamAsync(Req("x"), [&](const auto& d) { seen += d.content; });
  auto chat = f.get();
  ASSERT_TRUE(std::holds_alternative<api::ChatStreamAccumulator>(chat));
  EXPECT_EQ(seen, "Hey");
}

TEST(ClientAsync, BlockingCallFromACallbackIsRefused) {
  ThreadedServer s([](const RawRequest& r, const Writer& w) {
    w(Echo(r));
    return true;
  });
  ClientOptions o;
  o.base_url = s.url();
  Client c(o);
  std::promise<JsonResult> inner;
  c.ChatAsync(Req("outer"), [&](JsonResult) { inner.set_value(c.Chat(Req("inner"))); });
  const JsonResult r = inner.get_future().get();
  ASSERT_TRUE(std::holds_alternative<api::ApiError>(r));
  EXPECT_NE(std::get<api::ApiError>(r).message.find("deadlock"), std::string::npos);
  // Chaining with the async form works.
  std::promise<std::string> chained;
  c.ChatAsync(Req("one"), [&](JsonResult) {
    c.ChatAsync(Req("two"), [&](JsonResult r2) { chained.set_value(ContentOf(r2)); });
  });
  EXPECT_EQ(chained.get_future().get(), "two");
}

TEST(ClientAsync, ClosingTheClientAnswersEveryCall) {
  ThreadedServer s([](const RawRequest& r, const Writer& w) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    w(Echo(r));
    return true;
  });
  std::vector<std::future<JsonResult>> fs;
  {
    ClientOptions o;
    o.base_url = s.url();
    o.max_concurrency = 2;  // two running, four queued
    Client c(o);
    for (int i = 0; i < 6; ++i) fs.push_back(c.ChatAsync(Req("x")));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto& f : fs) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(2)), std::future_status::ready);
    const JsonResult r = f.get();
    ASSERT_TRUE(std::holds_alternative<api::ApiError>(r));
    EXPECT_EQ(std::get<api::ApiError>(r).message, "the client is closed");
  }
}

TEST(ClientAsync, TotalTimeoutBoundsTheAttempt) {
  ThreadedServer s([](const RawRequest& r, const Writer& w) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    w(Echo(r));
    return true;
  });
  ClientOptions o;
  o.base_url = s.url();
  o.total_timeout_s = 0.4;
  Client c(o);
  const auto t0 = Clock::now();
  const JsonResult r = c.Chat(Req("x"));
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_TRUE(std::holds_alternative<api::ApiError>(r));
  EXPECT_EQ(std::get<api::ApiError>(r).status, 0);
  EXPECT_LT(took, 1.0);
}

TEST(ClientAsync, TypedCallsSpeakTheServersTypes) {
  // The server side parses with the server's own parser and answers what it understood.
  ThreadedServer s([](const RawRequest& r, const Writer& w) {
    auto parsed = api::ParseChatRequest(nlohmann::ordered_json::parse(r.body));
    if (!std::holds_alternative<api::ChatRequest>(parsed)) {
      w(ThreadedServer::Reply(422, std::get<api::ApiError>(parsed).Body()));
      return true;
    }
    const api::ChatRequest& q = std::get<api::ChatRequest>(parsed);
    const std::string said = "temp=" + std::to_string(*q.gen.temperature) +
                             " stop=" + q.gen.stop.at(0) + " n=" + std::to_string(q.gen.n);
    const json reply = {
        {"id", "x"},
        {"object", "chat.completion"},
        {"model", q.gen.model},
        {"created", 1},
        {"choices",
         {{{"index", 0},
           {"message", {{"role", "assistant"}, {"content", said}, {"reasoning_content", "r"}}},
           {"finish_reason", "stop"}}}},
        {"usage",
         {{"prompt_tokens", 3},
          {"completion_tokens", 1},
          {"prompt_cache_hit_tokens", 2},
          {"prompt_cache_miss_tokens", 1}}}};
    w(ThreadedServer::Reply(200, reply.dump()));
    return true;
  });
  ClientOptions o;
  o.base_url = s.url();
  Client c(o);
  api::ChatRequest q;
  q.gen.model = "r1";
  q.gen.temperature = 0.25;
  q.gen.stop = {"END"};
  q.gen.n = 2;
  q.messages = nlohmann::ordered_json::parse(R"([{"role":"user","content":"Hi"}])");
  auto r = c.CreateChat(q);
  ASSERT_TRUE(std::holds_alternative<api::ChatCompletion>(r)) << std::get<api::ApiError>(r).message;
  const api::ChatCompletion& cc = std::get<api::ChatCompletion>(r);
  EXPECT_EQ(cc.model, "r1");
  EXPECT_EQ(cc.choices[0].content, "temp=0.250000 stop=END n=2");
  EXPECT_EQ(cc.choices[0].reasoning_content, "r");
  EXPECT_EQ(cc.prompt_cache_hit_tokens, 2);
  auto f = c.CreateChatAsync(q).get();
  ASSERT_TRUE(std::holds_alternative<api::ChatCompletion>(f));
  // An invalid typed request is refused by the server's validation, named.
  q.gen.temperature = 5;
  auto bad = c.CreateChat(q);
  ASSERT_TRUE(std::holds_alternative<api::ApiError>(bad));
  EXPECT_EQ(std::get<api::ApiError>(bad).param, "temperature");
}

}  // namespace
}  // namespace seekd::client
