// sigma-hook run: follow events, enqueue durably, deliver, retry.
#include "hook/service.h"

#include <nlohmann/json.hpp>
#include <sys/random.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "base/cli.h"
#include "base/event_follower.h"
#include "base/events.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/time.h"
#include "base/time_spec.h"
#include "base/write_health.h"
#include "hook/deliverer.h"
#include "hook/signature.h"
#include "hook/store.h"
#include "hook/subscriptions.h"

namespace sigma::hook {
namespace {

constexpr int kIdleWaitMs = 100;
constexpr size_t kWarnEvery = 1000;

uint64_t random64() {
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, 0) != sizeof r) r = static_cast<uint64_t>(monotonic_ms()) * 6364136223846793005ULL;
  return r;
}

// A line as an event: its type, channel and id; false for garbage.
struct Parsed {
  std::string type, channel, id;
};
bool parse_event(const std::string& line, Parsed& out, int64_t* time_ms = nullptr) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  auto t = j.find("type");
  if (t == j.end() || !t->is_string() || t->get_ref<const std::string&>().empty()) return false;
  out.type = t->get<std::string>();
  auto c = j.find("channel");
  out.channel = c != j.end() && c->is_string() ? c->get<std::string>() : "";
  auto i = j.find("id");
  out.id = i != j.end() && i->is_string() ? i->get<std::string>() : "";
  if (time_ms) {
    *time_ms = -1;
    auto tm = j.find("time");
    if (tm != j.end() && tm->is_string()) {
      auto r = parse_time(tm->get<std::string>(), 0);
      if (r.is_ok()) *time_ms = *r;
    }
  }
  return true;
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  if (s.size() > 300) s = s.substr(0, 300) + "...";
  return s;
}

struct SubRuntime {
  std::set<std::string> channels;  // with rows in the outbox
  std::set<std::string> busy;      // a delivery in flight
  std::string last_started;        // round robin between channels
  int64_t dead_since_alert = 0;    // dead letters while the alert is open
};

class Runner {
 public:
  explicit Runner(RunParams& p) : p_(p) {}

  Status run() {
    SIGMA_ASSIGN_OR_RETURN(set_, load_subscriptions(p_.config));
    Status sec = load_secrets(set_);
    if (!sec.is_ok()) spdlog::error("{} (its deliveries wait; the others go on)", sec.message());
    SIGMA_RETURN_IF_ERROR(events_.open(p_.events));
    SIGMA_ASSIGN_OR_RETURN(store_, Store::open(p_.state));
    SIGMA_ASSIGN_OR_RETURN(deliverer_, Deliverer::create());
    for (const auto& spec : p_.events_in) {
      std::pair<uint64_t, uint64_t> pos{0, 0};
      if (spec != "-" && spec.rfind("fd:", 0) != 0) {
        SIGMA_ASSIGN_OR_RETURN(pos, store_->position(spec));
      }
      SIGMA_ASSIGN_OR_RETURN(auto f, EventFollower::open(spec, pos.first, pos.second));
      followers_.push_back(std::move(f));
    }
    SIGMA_RETURN_IF_ERROR(apply_config());
    SIGMA_ASSIGN_OR_RETURN(auto chans, store_->channels());
    for (auto& [sub, ch] : chans) rt_[sub].channels.insert(ch);
    SIGMA_ASSIGN_OR_RETURN(data_version_, store_->data_version());
    int reload_fd = install_reload_handler();
    notify_ready(p_.ready_fd);
    spdlog::info("{} subscription(s), {} events input(s), state {}", set_.subs.size(), followers_.size(), p_.state);

    while (!stop_requested()) {
      if (take_reload_request()) reload();
      bool more = false;
      for (auto& f : followers_) {
        // Lines the outbox could not take (a full disk: SQLITE_FULL) are
        // held, nothing more is read from their file, and they are tried
        // again a second later: the read position goes with them, in the
        // same transaction, so nothing is lost and nothing queued twice.
        std::vector<std::string>& lines = held_[f.get()];
        if (lines.empty()) SIGMA_RETURN_IF_ERROR(f->read(lines, 0));
        else if (monotonic_ms() < retry_at_ms_) continue;
        if (!lines.empty()) {
          uint64_t mark = health_.failures();
          Status st = ingest(*f, lines);
          if (!st) {
            if (st.code() != ExitCode::kSystem) return st;
            health_.failed("outbox: " + std::to_string(lines.size()) + " event(s) of " + f->spec(), st);
            retry_at_ms_ = monotonic_ms() + 1000;
            continue;
          }
          lines.clear();
          health_.recovered_since(mark);
          more = true;
        }
      }
      SIGMA_ASSIGN_OR_RETURN(int64_t dv, store_->data_version());
      if (dv != data_version_) {
        // Another connection (sigma-hook replay) added rows.
        data_version_ = dv;
        SIGMA_ASSIGN_OR_RETURN(auto cs, store_->channels());
        for (auto& [sub, ch] : cs) rt_[sub].channels.insert(ch);
        dirty_ = true;
      }
      int64_t now = unix_ms_now();
      if (dirty_ || now >= wake_ms_) SIGMA_RETURN_IF_ERROR(schedule(now));
      int wait = more ? 0 : kIdleWaitMs;
      if (wake_ms_ > now) wait = static_cast<int>(std::min<int64_t>(wait, wake_ms_ - now));
      else if (!more) wait = std::min(wait, kIdleWaitMs);
      std::vector<JobResult> done;
      SIGMA_RETURN_IF_ERROR(deliverer_->run(wait, {stop_fd(), reload_fd}, done));
      if (!done.empty()) SIGMA_RETURN_IF_ERROR(finish(done));
    }
    // What is in flight stays in the outbox: sent again at the next start.
    deliverer_->abandon();
    spdlog::info("stopped");
    return {};
  }

 private:
  const Subscription* sub(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &set_.subs[it->second];
  }

  // After a load or a reload: the index by name, and a subscription
  // disabled by a 410 whose url has changed since is enabled again.
  Status apply_config() {
    by_name_.clear();
    for (size_t i = 0; i < set_.subs.size(); ++i) by_name_[set_.subs[i].name] = i;
    disabled_.clear();
    SIGMA_ASSIGN_OR_RETURN(auto st, store_->status());
    for (const auto& s : st) {
      const Subscription* c = sub(s.name);
      if (!c || !s.disabled) continue;
      if (c->url != s.disabled_target) {
        SIGMA_RETURN_IF_ERROR(store_->enable(s.name));
        spdlog::info("subscription {}: url changed since its 410, enabled again", s.name);
        alert("webhook_disabled", s.name, "resolved", "critical", "webhook " + s.name + " enabled again",
              s.disabled_since_ms);
      } else {
        disabled_.insert(s.name);
      }
    }
    for (const auto& s : st)
      if (s.alert_since_ms > 0) alert_open_[s.name] = s.alert_since_ms;
    dirty_ = true;
    return {};
  }

  void reload() {
    auto next = load_subscriptions(p_.config);
    if (!next.is_ok()) {
      spdlog::error("reload: {} (keeping the running subscriptions)", next.status().message());
      return;
    }
    Status sec = load_secrets(*next);
    if (!sec.is_ok()) spdlog::error("reload: {} (its deliveries wait; the others go on)", sec.message());
    set_ = std::move(*next);
    Status st = apply_config();
    if (!st.is_ok()) spdlog::error("reload: {}", st.message());
    spdlog::info("reloaded {}: {} subscription(s)", p_.config, set_.subs.size());
  }

  Status ingest(EventFollower& f, const std::vector<std::string>& lines) {
    std::vector<NewRow> rows;
    int64_t garbage = 0;
    for (const auto& line : lines) {
      if (line.empty()) continue;
      Parsed ev;
      if (!parse_event(line, ev)) {
        ++garbage;
        if (garbage_total_++ % kWarnEvery == 0)
          spdlog::warn("events input {}: a line that is not a JSON event with a \"type\", skipped ({} so far)",
                       f.spec(), garbage_total_);
        continue;
      }
      for (const auto& s : set_.subs) {
        if (disabled_.count(s.name) || !s.wants(ev.type, ev.channel)) continue;
        // An event without an id gets one now, kept for all its retries.
        rows.push_back(NewRow{s.name, ev.channel, ev.id.empty() ? new_event_id() : ev.id, line});
        rt_[s.name].channels.insert(ev.channel);
      }
    }
    std::string spec = f.is_file() ? f.spec() : "";
    SIGMA_RETURN_IF_ERROR(store_->enqueue(rows, spec, f.inode(), f.offset(), garbage, unix_ms_now()));
    if (!rows.empty()) dirty_ = true;
    return {};
  }

  Status schedule(int64_t now) {
    dirty_ = false;
    wake_ms_ = INT64_MAX;
    for (const auto& s : set_.subs) {
      if (disabled_.count(s.name) || !s.secret_error.empty()) continue;
      auto& r = rt_[s.name];
      std::vector<std::string> empty;
      // Round robin: start after the channel that got the last slot, so
      // that with more channels than slots none waits behind the others.
      std::vector<std::string> order;
      auto mid = r.channels.upper_bound(r.last_started);
      order.insert(order.end(), mid, r.channels.end());
      order.insert(order.end(), r.channels.begin(), mid);
      for (const auto& ch : order) {
        if (static_cast<int>(r.busy.size()) >= s.concurrency) break;
        if (r.busy.count(ch)) continue;
        SIGMA_ASSIGN_OR_RETURN(auto head, store_->head(s.name, ch));
        if (!head) {
          empty.push_back(ch);
          continue;
        }
        if (head->next_ms > now) {
          wake_ms_ = std::min(wake_ms_, head->next_ms);
          continue;
        }
        SIGMA_RETURN_IF_ERROR(start(s, *head, now));
        r.busy.insert(ch);
        r.last_started = ch;
      }
      for (const auto& ch : empty) r.channels.erase(ch);
    }
    return {};
  }

  Status start(const Subscription& s, const OutRow& row, int64_t now) {
    Job j;
    j.seq = row.seq;
    j.sub = s.name;
    j.channel = row.channel;
    j.body = row.body;
    j.timeout_ms = s.timeout_ms;
    int64_t ts = now / 1000;
    j.headers.push_back("webhook-id: " + row.event_id);
    j.headers.push_back("webhook-timestamp: " + std::to_string(ts));
    if (!s.keys.empty()) j.headers.push_back("webhook-signature: " + signature_header(s.keys, row.event_id, ts, row.body));
    if (!s.url.empty()) {
      j.url = s.url;
    } else {
      j.exec = s.exec;
    }
    spdlog::debug("deliver {} #{} ({}) attempt {}", s.name, row.seq, row.event_id, row.attempts + 1);
    attempts_[row.seq] = {row.attempts, row.created_ms};
    Status st = deliverer_->start(std::move(j));
    if (!st.is_ok()) {
      // Could not even start (exec not found): a retry later, not a stop.
      JobResult r;
      r.seq = row.seq;
      r.sub = s.name;
      r.channel = row.channel;
      r.is_exec = !s.exec.empty();
      r.http_status = -1;
      r.error = st.message();
      pending_results_.push_back(std::move(r));
    }
    return {};
  }

  Status finish(std::vector<JobResult>& done) {
    for (auto& r : pending_results_) done.push_back(std::move(r));
    pending_results_.clear();
    int64_t now = unix_ms_now();
    std::vector<Finished> out;
    std::vector<std::pair<std::string, std::string>> dead_alerts, gone_alerts;
    std::set<std::string> succeeded;
    for (auto& r : done) {
      rt_[r.sub].busy.erase(r.channel);
      auto at = attempts_.find(r.seq);
      int64_t attempts = at == attempts_.end() ? 0 : at->second.first;
      int64_t created = at == attempts_.end() ? now : at->second.second;
      if (at != attempts_.end()) attempts_.erase(at);
      const Subscription* s = sub(r.sub);
      Finished f;
      f.seq = r.seq;
      f.sub = r.sub;
      enum { kOk, kTransient, kPermanent, kGone } kind;
      std::string why = r.error;
      if (r.is_exec) {
        if (r.error.empty() && r.http_status == 0) kind = kOk;
        else if (r.error.empty() && r.http_status == 100) kind = kPermanent;
        else kind = kTransient;
        if (why.empty()) why = "exec exited " + std::to_string(r.http_status);
      } else if (!r.error.empty()) {
        kind = kTransient;
      } else {
        long c = r.http_status;
        why = "HTTP " + std::to_string(c) + " from " + (s ? redact_url(s->url) : std::string("?"));
        if (c >= 200 && c < 300) kind = kOk;
        else if (c == 410) kind = kGone;
        else if (c == 408 || c == 429 || c >= 500) kind = kTransient;
        else kind = kPermanent;
      }
      if (!s && kind != kOk) {
        // Its subscription left the config (SIGHUP) meanwhile: the row
        // stays queued, as the others of that name do.
        f.outcome = Outcome::kRetry;
        f.next_ms = now;
        f.error = why;
      } else if (kind == kOk) {
        f.outcome = Outcome::kDelivered;
        succeeded.insert(r.sub);
      } else if (kind == kGone) {
        f.outcome = Outcome::kGone;
        f.error = why;
        f.target = s ? s->url : "";
        disabled_.insert(r.sub);
        gone_alerts.emplace_back(r.sub, why);
        spdlog::error("subscription {}: {}: the receiver is gone, subscription disabled (change its url to enable it)",
                      r.sub, why);
      } else if (kind == kPermanent) {
        f.outcome = Outcome::kFailed;
        f.error = why;
        dead_alerts.emplace_back(r.sub, why + " (not retried)");
        spdlog::warn("subscription {}: event #{}: {}: a permanent failure, not retried", r.sub, r.seq, why);
      } else {
        int64_t max_age = s->max_age_ms;
        int64_t deadline = created + max_age;
        if (now >= deadline) {
          f.outcome = Outcome::kFailed;
          f.error = why + " (gave up after " + std::to_string(attempts + 1) + " attempts over " +
                    format_duration(now - created) + ")";
          dead_alerts.emplace_back(r.sub, f.error);
          spdlog::error("subscription {}: event #{}: {}", r.sub, r.seq, f.error);
        } else {
          int64_t delay = r.retry_after_ms >= 0
                              ? r.retry_after_ms
                              : backoff_ms(attempts + 1, s->backoff_initial_ms, s->backoff_max_ms, random64());
          f.outcome = Outcome::kRetry;
          f.next_ms = std::min(now + delay, deadline);
          f.error = why;
          spdlog::info("subscription {}: event #{}: {}; retry {} in {}", r.sub, r.seq, one_line(why), attempts + 1,
                       format_duration(f.next_ms - now));
        }
      }
      out.push_back(std::move(f));
    }
    SIGMA_RETURN_IF_ERROR(store_->finish(out, now));
    dirty_ = true;
    for (auto& [name, why] : dead_alerts) {
      if (alert_open_.count(name)) continue;
      alert_open_[name] = now;
      SIGMA_RETURN_IF_ERROR(store_->set_alert_since(name, now));
      alert("webhook_failed", name, "firing", "warning", "webhook " + name + " failed: " + one_line(why), 0);
    }
    for (auto& [name, why] : gone_alerts)
      alert("webhook_disabled", name, "firing", "critical", "webhook " + name + " disabled: " + one_line(why), 0);
    for (const auto& name : succeeded) {
      auto it = alert_open_.find(name);
      if (it == alert_open_.end()) continue;
      int64_t since = it->second;
      alert_open_.erase(it);
      SIGMA_RETURN_IF_ERROR(store_->set_alert_since(name, 0));
      alert("webhook_failed", name, "resolved", "warning", "webhook " + name + " delivers again", since);
    }
    return {};
  }

  void alert(const std::string& name, const std::string& key, const std::string& state, const std::string& severity,
             const std::string& summary, int64_t since_ms) {
    nlohmann::json f = {{"alert", name}, {"state", state}, {"severity", severity}, {"key", key}, {"summary", summary}};
    if (state == "resolved" && since_ms > 0) f["since"] = iso8601_utc(since_ms);
    events_.emit("alert." + name, "", f);
  }

  RunParams& p_;
  SubscriptionSet set_;
  std::map<std::string, size_t> by_name_;
  std::set<std::string> disabled_;
  std::map<std::string, int64_t> alert_open_;
  std::map<std::string, SubRuntime> rt_;
  std::map<int64_t, std::pair<int64_t, int64_t>> attempts_;  // seq -> attempts so far, created_ms
  std::vector<JobResult> pending_results_;
  EventWriter events_;
  WriteHealth health_{&events_, "", "hook"};
  std::unique_ptr<Store> store_;
  std::unique_ptr<Deliverer> deliverer_;
  std::vector<std::unique_ptr<EventFollower>> followers_;
  std::map<const EventFollower*, std::vector<std::string>> held_;  // not yet in the outbox
  int64_t retry_at_ms_ = 0;
  int64_t data_version_ = 0;
  bool dirty_ = true;
  int64_t wake_ms_ = 0;
  uint64_t garbage_total_ = 0;
};

std::string when(int64_t ms) { return ms > 0 ? iso8601_utc(ms) : "-"; }

}  // namespace

int64_t backoff_ms(int64_t attempt, int64_t initial_ms, int64_t max_ms, uint64_t random) {
  int64_t d = initial_ms;
  for (int64_t i = 1; i < attempt && d < max_ms; ++i) d *= 2;
  d = std::min(d, max_ms);
  int64_t half = d / 2;
  return half + static_cast<int64_t>(random % static_cast<uint64_t>(d - half + 1));
}

Status run_hook(RunParams& p) { return Runner(p).run(); }

Status run_check(const std::string& config) {
  SIGMA_ASSIGN_OR_RETURN(auto set, load_subscriptions(config));
  SIGMA_RETURN_IF_ERROR(load_secrets(set));
  std::printf("%s: %zu subscription(s), ok\n", config.c_str(), set.subs.size());
  return {};
}

Status run_status(const StatusParams& p) {
  SIGMA_ASSIGN_OR_RETURN(auto set, load_subscriptions(p.config));
  // Only to say which subscriptions are held for their secret; the keys
  // themselves go nowhere.
  (void)load_secrets(set);
  SIGMA_ASSIGN_OR_RETURN(auto store, Store::open(p.state, true));
  SIGMA_ASSIGN_OR_RETURN(auto rows, store->status());
  std::map<std::string, SubStatus> by;
  for (auto& r : rows) by[r.name] = r;
  std::vector<SubStatus> list;
  for (const auto& s : set.subs) {
    auto it = by.find(s.name);
    SubStatus st = it == by.end() ? SubStatus{} : it->second;
    st.name = s.name;
    if (!s.secret_error.empty()) {
      st.held = true;
      st.last_error = s.secret_error;
    }
    list.push_back(st);
  }
  SIGMA_ASSIGN_OR_RETURN(int64_t garbage, store->garbage());
  if (p.json) {
    nlohmann::json out = {{"subscriptions", nlohmann::json::array()}, {"garbage_lines", garbage}};
    for (const auto& s : list) {
      nlohmann::json j = {{"name", s.name},           {"delivered", s.delivered}, {"pending", s.pending},
                          {"retrying", s.retrying},   {"failed", s.failed},       {"disabled", s.disabled},
                          {"alert", s.alert_since_ms > 0}, {"held", s.held}, {"last_error", s.last_error}};
      j["last_error_time"] = s.last_error_ms ? nlohmann::json(iso8601_utc(s.last_error_ms)) : nlohmann::json();
      j["last_success_time"] = s.last_success_ms ? nlohmann::json(iso8601_utc(s.last_success_ms)) : nlohmann::json();
      j["next_retry_time"] = s.next_retry_ms ? nlohmann::json(iso8601_utc(s.next_retry_ms)) : nlohmann::json();
      out["subscriptions"].push_back(j);
    }
    std::cout << out.dump(2) << "\n";
    return {};
  }
  std::printf("%-16s %9s %8s %8s %6s  %-8s  %-24s  %s\n", "SUBSCRIPTION", "DELIVERED", "PENDING", "RETRYING", "FAILED",
              "STATE", "LAST SUCCESS", "LAST ERROR");
  for (const auto& s : list) {
    std::string state = s.disabled ? "disabled" : s.held ? "held" : s.alert_since_ms > 0 ? "failing" : "active";
    std::printf("%-16s %9lld %8lld %8lld %6lld  %-8s  %-24s  %s\n", s.name.c_str(), (long long)s.delivered,
                (long long)s.pending, (long long)s.retrying, (long long)s.failed, state.c_str(),
                when(s.last_success_ms).c_str(),
                s.last_error.empty() ? "-" : (when(s.last_error_ms) + " " + one_line(s.last_error)).c_str());
  }
  if (garbage > 0) std::printf("garbage lines skipped: %lld\n", (long long)garbage);
  return {};
}

Status run_replay(const ReplayParams& p) {
  SIGMA_ASSIGN_OR_RETURN(auto set, load_subscriptions(p.config));
  int64_t now = unix_ms_now();
  SIGMA_ASSIGN_OR_RETURN(int64_t since, parse_time(p.since, now));
  int64_t until = INT64_MAX;
  if (!p.until.empty()) {
    SIGMA_ASSIGN_OR_RETURN(until, parse_time(p.until, now));
  }
  if (!p.subscription.empty()) {
    bool found = false;
    for (const auto& s : set.subs) found = found || s.name == p.subscription;
    if (!found) return usage_error("--subscription " + p.subscription + ": not in " + p.config);
  }
  SIGMA_ASSIGN_OR_RETURN(auto store, Store::open(p.state));
  int64_t events = 0, rows_total = 0;
  for (const auto& path : p.events_in) {
    std::ifstream in(path);
    if (!in) return errno_error("events file " + path, errno);
    std::string line;
    std::vector<NewRow> rows;
    while (std::getline(in, line)) {
      Parsed ev;
      int64_t t = -1;
      if (!parse_event(line, ev, &t) || t < since || t >= until) continue;
      bool any = false;
      for (const auto& s : set.subs) {
        if (!p.subscription.empty() && s.name != p.subscription) continue;
        if (!s.wants(ev.type, ev.channel)) continue;
        rows.push_back(NewRow{s.name, ev.channel, ev.id.empty() ? new_event_id() : ev.id, line});
        any = true;
      }
      events += any;
      if (rows.size() >= 1000) {
        SIGMA_RETURN_IF_ERROR(store->enqueue(rows, "", 0, 0, 0, unix_ms_now()));
        rows_total += static_cast<int64_t>(rows.size());
        rows.clear();
      }
    }
    SIGMA_RETURN_IF_ERROR(store->enqueue(rows, "", 0, 0, 0, unix_ms_now()));
    rows_total += static_cast<int64_t>(rows.size());
  }
  spdlog::info("replay: {} event(s) from {} to {}: {} deliveries queued", events, iso8601_utc(since),
               until == INT64_MAX ? std::string("now") : iso8601_utc(until), rows_total);
  std::printf("%lld\n", (long long)rows_total);
  return {};
}

}  // namespace sigma::hook
