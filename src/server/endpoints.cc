#include "server/endpoints.h"

#include <cmath>

#include "api/requests.h"
#include "server/generation.h"
#include "tokenizer/unicode.h"

namespace seekd::server {

using api::ojson;

Reply ErrorReply(const api::ApiError& e, double retry_after_s) {
  Reply r{e.status, e.Body(), "application/json", {}};
  if (e.status == 503 || e.status == 429) {
    r.headers.emplace_back("Retry-After",
                           std::to_string(static_cast<int64_t>(std::ceil(retry_after_s))));
    r.headers.emplace_back("retry-after-ms",
                           std::to_string(static_cast<int64_t>(std::ceil(retry_after_s * 1000))));
  }
  return r;
}

Reply JsonReply(const ojson& j) { return Reply{200, api::Dump(j), "application/json", {}}; }

std::shared_ptr<ModelEntry> FindModel(ModelRegistry& models, const std::string& name,
                                      api::ApiError* err) {
  auto m = models.Get(name);
  if (!m) *err = api::ModelNotFound(name);
  return m;
}

Reply ModelsReply(ModelRegistry& models, const std::string& one) {
  auto entry = [](const ModelEntry& m) {
    ojson j;
    j["id"] = m.name;
    j["object"] = "model";
    j["created"] = m.created;
    j["owned_by"] = "seekd";
    j["max_model_len"] = m.ctx;
    return j;
  };
  if (!one.empty()) {
    auto m = models.Get(one);
    if (!m) return ErrorReply(api::ModelNotFound(one));
    return JsonReply(entry(*m));
  }
  ojson data = ojson::array();
  for (const auto& m : models.List()) data.push_back(entry(*m));
  return JsonReply({{"object", "list"}, {"data", data}});
}

Reply TokenizeReply(ModelRegistry& models, const ojson& body, const std::string& header_model) {
  std::string name = api::StringField(body, "model", header_model);
  api::ApiError err;
  auto m = FindModel(models, name, &err);
  if (!m) return ErrorReply(err);
  std::string text;
  bool chat = false;
  if (body.contains("messages")) {
    auto req = api::ParseChatRequest(body, name);
    if (auto* e = std::get_if<api::ApiError>(&req)) return ErrorReply(*e);
    auto rendered = RenderChatPrompt(*m, std::get<api::ChatRequest>(req), nullptr);
    if (auto* e = std::get_if<api::ApiError>(&rendered)) return ErrorReply(*e);
    text = std::get<std::string>(rendered);
    chat = true;
  } else {
    auto it = body.find("prompt");
    if (it == body.end()) it = body.find("content");
    if (it == body.end() || !it->is_string())
      return ErrorReply(api::Malformed("tokenize needs a prompt (string) or messages"));
    text = it->get<std::string>();
  }
  tok::EncodeOptions eo;
  const bool add_special = api::BoolField(body, "add_special_tokens", !chat);
  eo.add_bos = add_special ? -1 : 0;
  eo.parse_special = chat;
  const auto ids = m->tok->Encode(text, eo);
  ojson j;
  j["tokens"] = ids;
  j["count"] = ids.size();
  j["max_model_len"] = m->ctx;
  return JsonReply(j);
}

Reply DetokenizeReply(ModelRegistry& models, const ojson& body, const std::string& header_model) {
  std::string name = api::StringField(body, "model", header_model);
  api::ApiError err;
  auto m = FindModel(models, name, &err);
  if (!m) return ErrorReply(err);
  auto it = body.find("tokens");
  if (it == body.end() || !it->is_array())
    return ErrorReply(api::Malformed("detokenize needs tokens (a list of ids)"));
  std::vector<int32_t> ids;
  for (const auto& t : *it) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 ||
        t.get<int64_t>() >= m->llm->config().n_vocab)
      return ErrorReply(api::InvalidParam(
          "tokens", "token ids must be in [0, " + std::to_string(m->llm->config().n_vocab) + ")"));
    ids.push_back(t.get<int32_t>());
  }
  return JsonReply({{"prompt", tok::SanitizeUtf8(m->tok->Decode(ids))}});
}

}  // namespace seekd::server
