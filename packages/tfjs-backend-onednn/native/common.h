// Shared helpers for the oneDNN-backed TensorFlow.js kernels.
//
// Every kernel works on the Float32Arrays that tfjs already owns: inputs are read in
// place and outputs are written into arrays allocated on the JS side, so no tensor data
// is copied on the way in or out. Calls are synchronous and run on the JS thread, which
// joins the OpenMP team (oneDNN's CPU runtime on Debian is OpenMP too).
#pragma once

#include <napi.h>
#ifdef TFJS_WITH_DNNL
#include <dnnl.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace onednn_tfjs {

// Below this much work (elements, roughly) our own loops stay on the calling thread:
// waking a sleeping OpenMP worker costs more than it saves.
constexpr int64_t kParallelMin = 1 << 16;

// Elements per chunk of a reduction whose chunks' partial results are merged in a fixed
// order (see ReduceColumns): small enough that LeNet-5's batch-norm tensors make
// several, large enough that a chunk is worth handing to a thread.
constexpr int64_t kReduceChunk = 1 << 14;

// Runs the enclosed oneDNN call on the calling thread only (restored on exit). Small
// GEMMs finish before a sleeping OpenMP worker would even wake up; oneDNN's sgemm reads
// the thread count when called, and a primitive when it is created.
class SingleThreaded {
 public:
  explicit SingleThreaded(bool active) {
#ifdef _OPENMP
    if (active) {
      saved_ = omp_get_max_threads();
      omp_set_num_threads(1);
    }
#endif
  }
  ~SingleThreaded() {
#ifdef _OPENMP
    if (saved_ > 0) omp_set_num_threads(saved_);
#endif
  }
  SingleThreaded(const SingleThreaded&) = delete;
  SingleThreaded& operator=(const SingleThreaded&) = delete;

 private:
  int saved_ = 0;
};

inline int MaxThreads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// oneDNN 2.x JIT GEMM kernels point rsp at heap memory while they run, so a signal
// handled on that thread (V8's profiler SIGPROF, SIGCHLD, ...) writes into the heap and
// corrupts it (oneDNN issue #4845, fixed in 3.11). Every call into oneDNN therefore runs
// with asynchronous signals blocked on the calling thread; they are delivered right
// after. The OpenMP workers are created with them blocked (see addon.cc) and keep that
// mask for life. Synchronous fault signals (SIGSEGV, ...) are never blocked.
class SignalGuard {
 public:
  SignalGuard();
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  sigset_t old_;
};

#ifdef TFJS_WITH_DNNL
// The oneDNN CPU engine and stream; created once, on first use.
dnnl::engine& Engine();
dnnl::stream& Stream();

// One scratchpad shared by every primitive (all calls are sequential on the JS thread).
dnnl::memory ScratchpadFor(const dnnl::primitive_desc_base& pd);
#endif

struct F32View {
  float* data = nullptr;
  size_t length = 0;
};

inline F32View ArgF32(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Float32Array");
  }
  auto a = v.As<Napi::Float32Array>();
  return {a.Data(), a.ElementLength()};
}

// A Float32Array, or null/undefined for "absent".
inline F32View ArgOptF32(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (v.IsNull() || v.IsUndefined()) return {};
  return ArgF32(info, i, name);
}

// The first `count` entries of an Int32Array argument. The JS side passes one reused
// parameter array (see src/native.ts), so it may be longer than needed.
inline std::vector<int64_t> ArgInts(const Napi::CallbackInfo& info, size_t i, size_t count, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be an Int32Array");
  }
  auto a = v.As<Napi::Int32Array>();
  if (a.ElementLength() < count) throw Napi::RangeError::New(info.Env(), std::string(name) + ": too few entries");
  return std::vector<int64_t>(a.Data(), a.Data() + count);
}

inline int64_t ArgInt(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }

inline float ArgFloat(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().FloatValue(); }

inline void Require(const Napi::CallbackInfo& info, bool ok, const char* what) {
  if (!ok) throw Napi::RangeError::New(info.Env(), what);
}

inline int64_t Product(const std::vector<int64_t>& v, size_t from = 0, size_t to = SIZE_MAX) {
  int64_t p = 1;
  for (size_t i = from; i < v.size() && i < to; ++i) p *= v[i];
  return p;
}

// Whether work runs faster on one thread or on all of them depends on the machine and
// its load: where every fork/join waits for a worker that is not running (a busy
// machine; a VM whose idle vCPU must first be woken) one thread wins, often by far; on
// idle cores the team wins. Timing each loop alone cannot tell: a worker used now and
// then is always asleep when asked, so the team always looks slow. TeamPolicy decides
// for the whole process instead, from the wall time per call of phases of at least
// kSpan parallel-capable calls and 150 ms run one way or the other (timed from the
// kSettle-th call: after a switch the first region wakes a sleeping worker; in training
// a phase is a few dozen steps, JS time included), using the team while its phases are at least 5% faster, and
// re-trying the other way now and then to follow the load: after 8 phases, then after 16 while it keeps losing (a team
// phase on a busy machine is costly; but the policy is shared by everything the process runs, and a model that follows
// one where the team lost must not wait long for its own verdict).
//
// Only work whose result has the same bits either way asks (every output computed by
// one thread, sums in fixed chunks), so the choice never changes a result.
class TeamPolicy {
 public:
  bool Team();
  // Diagnostic: mean time per call (us) of [single, team] phases, and phases measured.
  double Average(bool team) const { return average_[team]; }
  int64_t Phases(bool team) const { return phases_[team]; }

 private:
  static constexpr int64_t kSettle = 16, kSpan = 128, kFirstProbe = 8, kLastProbe = 16, kExplore = 4, kMaxSkips = 4;
  static constexpr double kMinPhaseMicros = 150000;
  static constexpr double kTeamMargin = 0.95, kWeight = 0.5, kOutlier = 2.0;
  void EndPhase();
  bool team_ = false;
  bool best_ = false, probing_ = false;
  int64_t calls_ = 0, since_probe_ = 0, probe_every_ = kFirstProbe, skipped_ = 0;
  double average_[2] = {0, 0};
  int64_t phases_[2] = {0, 0};
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};
TeamPolicy& GlobalTeamPolicy();

// Tests force one path: 0 = choose, 1 = always one thread, 2 = always the team.
int& ForcedThreadMode();

// One thread for this call? The forced mode, else the process-wide policy.
inline bool SingleByPolicy() {
  if (ForcedThreadMode() != 0) return ForcedThreadMode() == 1;
  return !GlobalTeamPolicy().Team();
}

// Per loop and shape: how long each path took (a diagnostic, threadChoices()).
class ThreadChoice {
 public:
  bool Single() {
    if (MaxThreads() <= 1) return true;
    return SingleByPolicy();
  }

  void Record(bool single, double micros) {
    const int i = single ? 0 : 1;
    average_[i] = samples_[i] == 0 ? micros : average_[i] + kWeight * (micros - average_[i]);
    ++samples_[i];
  }

  double Average(bool single) const { return average_[single ? 0 : 1]; }
  int64_t Samples(bool single) const { return samples_[single ? 0 : 1]; }

 private:
  static constexpr double kWeight = 0.25;
  double average_[2] = {0, 0};
  int64_t samples_[2] = {0, 0};
};

// A bounded map of choices (a run meets a handful of shapes; endless new ones reset it).
class ThreadChoices {
 public:
  explicit ThreadChoices(const char* name);
  ThreadChoice& For(const std::vector<int64_t>& key) {
    if (choices_.size() >= 256) choices_.clear();
    return choices_[key];
  }
  const char* name() const { return name_; }
  const std::map<std::vector<int64_t>, ThreadChoice>& choices() const { return choices_; }

 private:
  const char* name_;
  std::map<std::vector<int64_t>, ThreadChoice> choices_;
};

// Every ThreadChoices, for threadChoices() (what was picked where; a diagnostic).
std::vector<const ThreadChoices*>& AllThreadChoices();
inline ThreadChoices::ThreadChoices(const char* name) : name_(name) { AllThreadChoices().push_back(this); }

inline double MicrosSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count();
}

// Runs body(begin, end) over [0, n), `cost` elements of work per item: on this thread
// when the work is small, else on one thread or split across the OpenMP team, whichever
// has been faster for this loop (each call site has its own choices) at this size.
template <typename Body>
void ParallelFor(int64_t n, int64_t cost, Body body) {
#ifdef _OPENMP
  if (n >= 2 && n * cost >= kParallelMin && omp_get_max_threads() > 1) {
    static ThreadChoices choices(__PRETTY_FUNCTION__);  // one per call site: each lambda type is its own instance
    ThreadChoice& choice = choices.For({n, cost});
    const bool single = choice.Single();
    const auto start = std::chrono::steady_clock::now();
    if (single) {
      body(0, n);
    } else {
#pragma omp parallel
      {
        const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
        body(n * t / nt, n * (t + 1) / nt);
      }
    }
    choice.Record(single, MicrosSince(start));
    return;
  }
#endif
  body(0, n);
}

// Fused activations, numbered as src/native.ts numbers them.
enum Activation : int {
  kLinear = 0,
  kRelu = 1,
  kRelu6 = 2,
  kLeakyRelu = 3,
  kElu = 4,
  kSigmoid = 5,
};

// Applies the activation to y[0, n): over the team when large (ApplyActivation), or on
// the calling thread (ActivateRange, for use inside a parallel region).
void ApplyActivation(float* y, int64_t n, int act, float alpha);
void ActivateRange(float* y, int64_t n, int act, float alpha);

// Registration hooks, one per source file.
void InitConv(Napi::Env env, Napi::Object exports);
void InitPool(Napi::Env env, Napi::Object exports);
void InitMatmul(Napi::Env env, Napi::Object exports);
void InitEltwise(Napi::Env env, Napi::Object exports);
void InitReduce(Napi::Env env, Napi::Object exports);
void InitNorm(Napi::Env env, Napi::Object exports);

}  // namespace onednn_tfjs
