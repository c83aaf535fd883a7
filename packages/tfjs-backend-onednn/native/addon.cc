// Module entry: engine/stream singletons, the shared scratchpad, version and threads.
#include <pthread.h>

#include <cmath>

#include "common.h"

namespace onednn_tfjs {

namespace {
const sigset_t& AsyncSignals() {
  static const sigset_t set = [] {
    sigset_t s;
    sigfillset(&s);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS}) sigdelset(&s, sig);
    return s;
  }();
  return set;
}
}  // namespace

SignalGuard::SignalGuard() { pthread_sigmask(SIG_BLOCK, &AsyncSignals(), &old_); }
SignalGuard::~SignalGuard() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

// Starts the OpenMP thread pool while asynchronous signals are blocked: the workers
// inherit the mask, so no signal is ever handled on a thread running oneDNN JIT code.
static void StartWorkers() {
  SignalGuard guard;
  int sink = 0;
#pragma omp parallel reduction(+ : sink)
  sink += 1;
  (void)sink;
}

std::vector<const ThreadChoices*>& AllThreadChoices() {
  static std::vector<const ThreadChoices*> all;
  return all;
}

TeamPolicy& GlobalTeamPolicy() {
  static TeamPolicy policy;
  return policy;
}

bool TeamPolicy::Team() {
  ++calls_;
  // The clock starts a few calls into a phase: after a switch to the team, the first
  // parallel region has to wake a sleeping worker (on a VM, an idle vCPU), a cost of the
  // switch, not of the team.
  if (calls_ == kSettle) start_ = std::chrono::steady_clock::now();
  if (calls_ >= kSettle + kSpan && MicrosSince(start_) >= kMinPhaseMicros) EndPhase();
  return team_;
}

void TeamPolicy::EndPhase() {
  // Time per call: phases end on time (enough steps to average out GC pauses and the
  // like), so they hold different numbers of calls.
  const double us = MicrosSince(start_) / static_cast<double>(calls_ - kSettle);
  calls_ = 0;
  start_ = std::chrono::steady_clock::now();
  // A phase whose calls were far heavier than usual either way (a training loop's test
  // pass: batches of 1,000, not 64) says nothing about the team: skip it, or whichever way
  // ran it would be blamed and left for a long while. Work that stays heavier is a new
  // regime: after a few skips in a row, measure afresh.
  const double usual = std::min(average_[0], average_[1]);
  if (phases_[0] > 1 && phases_[1] > 1 && us > kOutlier * usual && ++skipped_ < kMaxSkips) return;
  if (skipped_ >= kMaxSkips) {
    phases_[0] = phases_[1] = 1;  // keep the warm-ups: primitives exist for both ways
    team_ = !team_;
  }
  skipped_ = 0;
  // The first phase each way is a warm-up (oneDNN makes its primitives per thread
  // count): not measured. Then a running average.
  double& avg = average_[team_];
  if (phases_[team_] == 1) avg = us;
  else if (phases_[team_] > 1) avg += kWeight * (us - avg);
  ++phases_[team_];
  // Explore both ways first, alternating, a few measured phases each.
  if (phases_[0] < kExplore || phases_[1] < kExplore) {
    team_ = phases_[1] < phases_[0] || (phases_[1] == phases_[0] && !team_);
  } else {
    const bool best = average_[1] < kTeamMargin * average_[0];
    if (best != best_) probe_every_ = kFirstProbe;                             // the faster way changed: watch closely
    else if (probing_) probe_every_ = std::min(probe_every_ * 2, kLastProbe);  // the probe lost
    best_ = best;
    probing_ = ++since_probe_ >= probe_every_;
    if (probing_) since_probe_ = 0;
    team_ = probing_ ? !best : best;
  }
}

int& ForcedThreadMode() {
  static int mode = 0;
  return mode;
}

#ifdef TFJS_WITH_DNNL
dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& Stream() {
  static dnnl::stream stream(Engine());
  return stream;
}

dnnl::memory ScratchpadFor(const dnnl::primitive_desc_base& pd) {
  static std::vector<uint8_t> buffer;
  dnnl::memory::desc md = pd.scratchpad_desc();
  size_t size = md.get_size();
  if (size > buffer.size()) buffer.resize(size);
  return dnnl::memory(md, Engine(), size ? buffer.data() : nullptr);
}
#endif

void ActivateRange(float* y, int64_t n, int act, float alpha) {
  auto map = [&](auto f) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = f(y[i]);
  };
  switch (act) {
    case kRelu: return map([](float v) { return v > 0.f ? v : 0.f; });
    case kRelu6: return map([](float v) { return v < 0.f ? 0.f : (v > 6.f ? 6.f : v); });
    case kLeakyRelu: return map([alpha](float v) { return v < 0.f ? alpha * v : v; });
    case kElu:
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] >= 0.f ? y[i] : std::expm1(y[i]);
      return;
    case kSigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + std::exp(-y[i]));
      return;
    default: return;
  }
}

void ApplyActivation(float* y, int64_t n, int act, float alpha) {
  if (act == kLinear) return;
  ParallelFor(n, 1, [=](int64_t b, int64_t e) { ActivateRange(y + b, e - b, act, alpha); });
}

namespace {

// version(): oneDNN's version, or "portable" for the build without it.
Napi::Value Version(const Napi::CallbackInfo& info) {
#ifdef TFJS_WITH_DNNL
  const dnnl_version_t* v = dnnl_version();
  std::string s = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  return Napi::String::New(info.Env(), s);
#else
  return Napi::String::New(info.Env(), "portable");
#endif
}

// kernels(): which convolution / matrix-product kernels this build has.
Napi::Value Kernels(const Napi::CallbackInfo& info) {
#ifdef TFJS_WITH_DNNL
  return Napi::String::New(info.Env(), "onednn");
#else
  return Napi::String::New(info.Env(), "portable");
#endif
}

Napi::Value CpuRuntime(const Napi::CallbackInfo& info) {
#ifndef TFJS_WITH_DNNL
  return Napi::String::New(info.Env(), "omp");
#else
  const dnnl_version_t* v = dnnl_version();
  switch (v->cpu_runtime) {
    case DNNL_RUNTIME_OMP: return Napi::String::New(info.Env(), "omp");
    case DNNL_RUNTIME_TBB: return Napi::String::New(info.Env(), "tbb");
    case DNNL_RUNTIME_SEQ: return Napi::String::New(info.Env(), "seq");
    case DNNL_RUNTIME_THREADPOOL: return Napi::String::New(info.Env(), "threadpool");
    default: return Napi::String::New(info.Env(), "unknown");
  }
#endif
}

// forceThreads(mode): 0 = choose per loop/shape, 1 = one thread, 2 = all threads (tests).
Napi::Value ForceThreads(const Napi::CallbackInfo& info) {
  const int mode = static_cast<int>(ArgInt(info, 0));
  Require(info, mode >= 0 && mode <= 2, "forceThreads: mode must be 0, 1 or 2");
  ForcedThreadMode() = mode;
  return info.Env().Undefined();
}

// threadChoices(): [{ site, key, single: [avg us, samples], all: [avg us, samples] }],
// the first entry being the process-wide policy (site "policy": mean time per call of
// its phases, one way and the other).
Napi::Value GetThreadChoices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  {
    Napi::Object o = Napi::Object::New(env);
    o.Set("site", "policy");
    o.Set("key", Napi::Array::New(env));
    for (bool team : {false, true}) {
      Napi::Array v = Napi::Array::New(env, 2);
      v.Set(0u, GlobalTeamPolicy().Average(team));
      v.Set(1u, static_cast<double>(GlobalTeamPolicy().Phases(team)));
      o.Set(team ? "all" : "single", v);
    }
    out.Set(i++, o);
  }
  for (const ThreadChoices* set : AllThreadChoices()) {
    for (const auto& [key, choice] : set->choices()) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("site", set->name());
      Napi::Array k = Napi::Array::New(env, key.size());
      for (uint32_t j = 0; j < key.size(); ++j) k.Set(j, static_cast<double>(key[j]));
      o.Set("key", k);
      for (bool single : {true, false}) {
        Napi::Array v = Napi::Array::New(env, 2);
        v.Set(0u, choice.Average(single));
        v.Set(1u, static_cast<double>(choice.Samples(single)));
        o.Set(single ? "single" : "all", v);
      }
      out.Set(i++, o);
    }
  }
  return out;
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), MaxThreads()); }

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
#ifdef _OPENMP
  int n = static_cast<int>(ArgInt(info, 0));
  if (n > 0) {
    omp_set_num_threads(n);
    StartWorkers();  // any new worker must start with signals blocked too
  }
#endif
  return Napi::Number::New(info.Env(), MaxThreads());
}

// Creating the engine here surfaces a broken libdnnl at load time, not at the first kernel.
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  StartWorkers();
#ifdef TFJS_WITH_DNNL
  Engine();
  Stream();
#endif
  exports.Set("version", Napi::Function::New(env, Version));
  exports.Set("kernels", Napi::Function::New(env, Kernels));
  exports.Set("cpuRuntime", Napi::Function::New(env, CpuRuntime));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("forceThreads", Napi::Function::New(env, ForceThreads));
  exports.Set("threadChoices", Napi::Function::New(env, GetThreadChoices));
  InitConv(env, exports);
  InitPool(env, exports);
  InitMatmul(env, exports);
  InitEltwise(env, exports);
  InitReduce(env, exports);
  InitNorm(env, exports);
  return exports;
}

}  // namespace
}  // namespace onednn_tfjs

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return onednn_tfjs::Init(env, exports); }

NODE_API_MODULE(tfjs_onednn, InitModule)
