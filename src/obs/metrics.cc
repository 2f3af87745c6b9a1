#include "obs/metrics.h"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace seekd::obs {

namespace {

std::string Num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char b[32];
    std::snprintf(b, sizeof b, "%.0f", v);
    return b;
  }
  // The shortest form that reads back exactly (bucket bounds print as written: 0.005).
  char b[32];
  for (int prec = 15; prec <= 17; ++prec) {
    std::snprintf(b, sizeof b, "%.*g", prec, v);
    if (std::strtod(b, nullptr) == v) break;
  }
  return b;
}

std::string Labels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                   const std::string& extra_name = "", const std::string& extra_value = "") {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    s += s.empty() ? "{" : ",";
    s += names[i] + "=\"" + EscapeLabel(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    s += s.empty() ? "{" : ",";
    s += extra_name + "=\"" + extra_value + "\"";
  }
  if (!s.empty()) s += "}";
  return s;
}

}  // namespace

std::string EscapeLabel(const std::string& v) {
  std::string o;
  for (char c : v) {
    if (c == '\\') {
      o += "\\\\";
    } else if (c == '"') {
      o += "\\\"";
    } else if (c == '\n') {
      o += "\\n";
    } else {
      o += c;
    }
  }
  return o;
}

std::vector<double> LatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300};
}

Family::Family(std::string name, std::string help, Type type, std::vector<std::string> labels,
               std::vector<double> buckets)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      labels_(std::move(labels)),
      buckets_(std::move(buckets)) {}

Family::Series& Family::At(const std::vector<std::string>& values) {
  std::vector<std::string> v = values;
  v.resize(labels_.size());
  Series& s = series_[v];
  if (type_ == Type::kHistogram && s.counts.empty()) s.counts.assign(buckets_.size() + 1, 0);
  return s;
}

void Family::Inc(const std::vector<std::string>& values, double by) {
  std::lock_guard<std::mutex> lock(mu_);
  At(values).value += by;
}

void Family::Set(const std::vector<std::string>& values, double v) {
  std::lock_guard<std::mutex> lock(mu_);
  At(values).value = v;
}

void Family::Observe(const std::vector<std::string>& values, double v) {
  std::lock_guard<std::mutex> lock(mu_);
  Series& s = At(values);
  const size_t b =
      static_cast<size_t>(std::lower_bound(buckets_.begin(), buckets_.end(), v) - buckets_.begin());
  ++s.counts[b];
  ++s.count;
  s.sum += v;
}

double Family::Get(const std::vector<std::string>& values) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> v = values;
  v.resize(labels_.size());
  auto it = series_.find(v);
  return it == series_.end() ? 0.0 : it->second.value;
}

void Family::Write(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  const char* type = type_ == Type::kCounter ? "counter"
                     : type_ == Type::kGauge ? "gauge"
                                             : "histogram";
  *out += "# HELP " + name_ + " " + help_ + "\n# TYPE " + name_ + " " + type + "\n";
  for (const auto& [values, s] : series_) {
    if (type_ != Type::kHistogram) {
      *out += name_ + Labels(labels_, values) + " " + Num(s.value) + "\n";
      continue;
    }
    uint64_t cum = 0;
    for (size_t i = 0; i <= buckets_.size(); ++i) {
      cum += s.counts[i];
      *out += name_ + "_bucket" +
              Labels(labels_, values, "le", i < buckets_.size() ? Num(buckets_[i]) : "+Inf") + " " +
              Num(static_cast<double>(cum)) + "\n";
    }
    *out += name_ + "_sum" + Labels(labels_, values) + " " + Num(s.sum) + "\n";
    *out +=
        name_ + "_count" + Labels(labels_, values) + " " + Num(static_cast<double>(s.count)) + "\n";
  }
}

Family& Registry::Add(std::unique_ptr<Family> f) {
  std::lock_guard<std::mutex> lock(mu_);
  families_.push_back(std::move(f));
  return *families_.back();
}

Family& Registry::Counter(const std::string& name, const std::string& help,
                          std::vector<std::string> labels) {
  return Add(std::make_unique<Family>(name, help, Family::Type::kCounter, std::move(labels),
                                      std::vector<double>{}));
}
Family& Registry::Gauge(const std::string& name, const std::string& help,
                        std::vector<std::string> labels) {
  return Add(std::make_unique<Family>(name, help, Family::Type::kGauge, std::move(labels),
                                      std::vector<double>{}));
}
Family& Registry::Histogram(const std::string& name, const std::string& help,
                            std::vector<std::string> labels, std::vector<double> buckets) {
  std::sort(buckets.begin(), buckets.end());
  return Add(std::make_unique<Family>(name, help, Family::Type::kHistogram, std::move(labels),
                                      std::move(buckets)));
}

void Registry::AddCollector(std::function<void()> collect) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.push_back(std::move(collect));
}

std::string Registry::Expose() const {
  std::vector<std::function<void()>> collectors;
  {
    std::lock_guard<std::mutex> lock(mu_);
    collectors = collectors_;
  }
  for (const auto& c : collectors) c();
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& f : families_) f->Write(&out);
  return out;
}

ProcessStats ReadProcessStats() {
  ProcessStats p;
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    p.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  if (statm >> pages_total >> pages_resident)
    p.resident_bytes =
        static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
  if (DIR* d = opendir("/proc/self/fd")) {
    int n = 0;
    while (readdir(d)) ++n;
    closedir(d);
    p.open_fds = std::max(0, n - 3);  // ".", ".." and the directory's own descriptor
  }
  // Start time: field 22 of /proc/self/stat (clock ticks after boot) + boot time.
  std::ifstream stat("/proc/self/stat");
  std::string line;
  std::getline(stat, line);
  const size_t rp = line.rfind(')');
  if (rp != std::string::npos) {
    std::istringstream rest(line.substr(rp + 2));
    std::string field;
    for (int i = 3; i <= 22 && rest >> field; ++i)
      if (i == 22) {
        std::ifstream s("/proc/stat");
        std::string key;
        double btime = 0;
        while (s >> key)
          if (key == "btime") {
            s >> btime;
            break;
          }
        p.start_time_seconds = btime + std::stod(field) / static_cast<double>(sysconf(_SC_CLK_TCK));
      }
  }
  return p;
}

// NVML, opened once; the functions seekd needs, by their C names.
namespace {
struct Nvml {
  bool ok = false;
  int (*init)() = nullptr;
  int (*count)(unsigned*) = nullptr;
  int (*handle)(unsigned, void**) = nullptr;
  int (*util)(void*, unsigned*) = nullptr;           // nvmlUtilization_t {gpu, memory}
  int (*mem)(void*, unsigned long long*) = nullptr;  // nvmlMemory_t {total, free, used}
};
const Nvml& GetNvml() {
  static const Nvml n = [] {
    Nvml n;
    void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return n;
    n.init = reinterpret_cast<int (*)()>(dlsym(lib, "nvmlInit_v2"));
    n.count = reinterpret_cast<int (*)(unsigned*)>(dlsym(lib, "nvmlDeviceGetCount_v2"));
    n.handle =
        reinterpret_cast<int (*)(unsigned, void**)>(dlsym(lib, "nvmlDeviceGetHandleByIndex_v2"));
    n.util =
        reinterpret_cast<int (*)(void*, unsigned*)>(dlsym(lib, "nvmlDeviceGetUtilizationRates"));
    n.mem = reinterpret_cast<int (*)(void*, unsigned long long*)>(
        dlsym(lib, "nvmlDeviceGetMemoryInfo"));
    n.ok = n.init && n.count && n.handle && n.util && n.mem && n.init() == 0;
    return n;
  }();
  return n;
}
}  // namespace

std::vector<AcceleratorStats> ReadAccelerators() {
  std::vector<AcceleratorStats> out;
  const Nvml& n = GetNvml();
  if (!n.ok) return out;
  unsigned count = 0;
  if (n.count(&count) != 0) return out;
  for (unsigned i = 0; i < count; ++i) {
    void* h = nullptr;
    if (n.handle(i, &h) != 0) continue;
    unsigned util[2] = {0, 0};
    unsigned long long mem[3] = {0, 0, 0};
    if (n.util(h, util) != 0 || n.mem(h, mem) != 0) continue;
    AcceleratorStats a;
    a.index = std::to_string(i);
    a.utilization_ratio = util[0] / 100.0;
    a.memory_total_bytes = static_cast<double>(mem[0]);
    a.memory_used_bytes = static_cast<double>(mem[2]);
    out.push_back(a);
  }
  return out;
}

}  // namespace seekd::obs
