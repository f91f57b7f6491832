// The N-API module: the few kernel calls Node itself lacks. Container setup
// does not run here (Node is multi-threaded); it runs in berth-monitor.

#include <napi.h>

#include <cerrno>
#include <cstring>
#include <sys/file.h>

namespace {

Napi::Error system_error(Napi::Env env, int error_number, const char* syscall_name) {
  Napi::Error error = Napi::Error::New(env, std::string(syscall_name) + ": " + strerror(error_number));
  error.Set("errno", Napi::Number::New(env, error_number));
  error.Set("syscall", Napi::String::New(env, syscall_name));
  return error;
}

// flock(2) on the thread pool, so waiting for a lock never blocks the event loop.
class FlockWorker : public Napi::AsyncWorker {
 public:
  FlockWorker(Napi::Env env, int fd, int operation)
      : Napi::AsyncWorker(env), fd_(fd), operation_(operation), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    while (flock(fd_, operation_) < 0) {
      if (errno == EINTR) continue;
      error_ = errno;
      return;
    }
  }
  void OnOK() override {
    if (error_) deferred_.Reject(system_error(Env(), error_, "flock").Value());
    else deferred_.Resolve(Env().Undefined());
  }

 private:
  int fd_, operation_, error_ = 0;
  Napi::Promise::Deferred deferred_;
};

// lock(fd, exclusive): Promise<void> — waits for the lock.
Napi::Value Lock(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool exclusive = info[1].As<Napi::Boolean>().Value();
  auto* worker = new FlockWorker(info.Env(), fd, exclusive ? LOCK_EX : LOCK_SH);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// tryLock(fd, exclusive): boolean — false when another holder has it.
Napi::Value TryLock(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool exclusive = info[1].As<Napi::Boolean>().Value();
  if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(info.Env(), false);
  system_error(info.Env(), errno, "flock").ThrowAsJavaScriptException();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("lock", Napi::Function::New(env, Lock));
  exports.Set("tryLock", Napi::Function::New(env, TryLock));
  return exports;
}

}  // namespace

NODE_API_MODULE(berth_native, Init)
