// Flags every subcommand that loads a model shares, declared once.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace seekd::cli {

// --pack-cache DIR|off (env SEEKD_PACK_CACHE): where packed weights are cached across loads
// (model/pack_cache.h). Unset: model::DefaultPackCacheDir(). Pass the value through
// model::ResolvePackCacheDir.
void AddPackCacheFlag(CLI::App* c, std::string* dir);

}  // namespace seekd::cli
