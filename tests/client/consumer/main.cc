// The installed SDK in use: calls a running seekd with each kind of credential and each way of
// calling, and prints one JSON object of what happened (checked by installed_package_test.py).
//   consumer URL MODEL API_KEY ACCESS_KEY SECRET_KEY JWT_SECRET
#include <client/http_client.h>
#include <security/request_signing.h>

#include <iostream>

using nlohmann::json;
using seekd::client::Client;
using seekd::client::ClientOptions;

namespace {

json Chat(const std::string& model, const std::string& text) {
  return {{"model", model},
          {"max_tokens", 8},
          {"temperature", 0},
          {"messages", {{{"role", "user"}, {"content", text}}}}};
}

json Describe(const seekd::client::JsonResult& r) {
  if (const auto* e = std::get_if<seekd::api::ApiError>(&r))
    return {{"ok", false}, {"status", e->status}, {"message", e->message}};
  const json& j = std::get<json>(r);
  return {{"ok", true},
          {"finish_reason", j["choices"][0]["finish_reason"]},
          {"completion_tokens", j["usage"]["completion_tokens"]}};
}

json Describe(const seekd::client::StreamResult& r) {
  if (const auto* e = std::get_if<seekd::api::ApiError>(&r))
    return {{"ok", false}, {"status", e->status}, {"message", e->message}};
  const auto& acc = std::get<seekd::api::ChatStreamAccumulator>(r);
  return {{"ok", true},
          {"finish_reason", acc.choices()[0].finish_reason},
          {"content_bytes", acc.choices()[0].content.size()}};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: consumer URL MODEL API_KEY ACCESS_KEY SECRET_KEY JWT_SECRET\n";
    return 2;
  }
  const std::string url = argv[1], model = argv[2];
  json out;

  ClientOptions with_key;
  with_key.base_url = url;
  with_key.api_key = argv[3];
  Client keyed(with_key);
  out["api_key_chat"] = Describe(keyed.Chat(Chat(model, "Hello")));

  // The typed form: the server's own request type, the response parsed.
  seekd::api::ChatRequest typed;
  typed.gen.model = model;
  typed.gen.max_tokens = 5;
  typed.gen.temperature = 0;
  typed.messages = nlohmann::ordered_json::parse(R"([{"role":"user","content":"Typed hello"}])");
  const auto tc = keyed.CreateChat(typed);
  if (const auto* c = std::get_if<seekd::api::ChatCompletion>(&tc))
    out["typed_chat"] = {{"ok", true},
                         {"model", c->model},
                         {"finish_reason", c->choices.at(0).finish_reason},
                         {"completion_tokens", c->usage ? c->usage->completion_tokens : -1}};
  else
    out["typed_chat"] = {{"ok", false}, {"message", std::get<seekd::api::ApiError>(tc).message}};

  ClientOptions signed_opts;
  signed_opts.base_url = url;
  signed_opts.access_key = argv[4];
  signed_opts.secret_key = argv[5];
  Client signer(signed_opts);
  std::string streamed;
  out["aksk_stream"] = Describe(signer.ChatStream(Chat(model, "Stream, please"),
                                                  [&](const auto& d) { streamed += d.content; }));
  out["aksk_stream"]["delta_bytes"] = streamed.size();

  ClientOptions jwt_opts;
  jwt_opts.base_url = url;
  jwt_opts.jwt_secret = argv[6];
  jwt_opts.jwt_claims.subject = "consumer";
  jwt_opts.jwt_claims.issuer = "consumer-app";
  Client minter(jwt_opts);
  std::vector<json> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(Chat(model, "Question " + std::to_string(i)));
  json results = json::array();
  for (const auto& r : minter.ChatBatch(batch, 2)) results.push_back(Describe(r));
  out["jwt_batch"] = results;

  auto reader = keyed.OpenChatStream(Chat(model, "Read me"));
  int deltas = 0;
  while (reader->Next()) ++deltas;
  out["reader"] = Describe(reader->result());
  out["reader"]["deltas"] = deltas;

  ClientOptions wrong = signed_opts;
  wrong.secret_key = "not-the-secret-key";
  out["wrong_secret"] = Describe(Client(wrong).Chat(Chat(model, "Hi")));
  ClientOptions wrong_key = with_key;
  wrong_key.api_key = "sk-wrong";
  out["wrong_key"] = Describe(Client(wrong_key).Chat(Chat(model, "Hi")));
  std::cout << out.dump() << "\n";
  return 0;
}
