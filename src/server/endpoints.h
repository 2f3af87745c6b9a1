// The server's plain JSON endpoints and reply shapes, kept out of the Beast I/O file: a reply is
// a status, a body, a content type and extra headers; the HTTP layer writes it.
//
// Thread-safety: the functions read the registry (which is thread-safe) and nothing else.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/errors.h"
#include "api/responses.h"
#include "server/models.h"

namespace seekd::server {

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// An error in OpenAI's shape. 429 and 503 say when to come back: Retry-After in whole seconds
// (rounded up) and retry-after-ms, both read by the official clients.
Reply ErrorReply(const api::ApiError& e, double retry_after_s = 1);
Reply JsonReply(const api::ojson& j);

// The model by name, or null with *err set to the 404.
std::shared_ptr<ModelEntry> FindModel(ModelRegistry& models, const std::string& name,
                                      api::ApiError* err);
// GET /v1/models and /v1/models/ID.
Reply ModelsReply(ModelRegistry& models, const std::string& one);
// POST /tokenize: a prompt (or chat messages, rendered through the template) to token ids.
Reply TokenizeReply(ModelRegistry& models, const api::ojson& body, const std::string& header_model);
// POST /detokenize: token ids to text.
Reply DetokenizeReply(ModelRegistry& models, const api::ojson& body,
                      const std::string& header_model);

}  // namespace seekd::server
