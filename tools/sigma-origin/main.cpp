// sigma-origin: serves a root of channel directories over HTTP/1.1, with
// LL-HLS blocking playlist reload. See sigma-origin(1).
#include "base/cli.h"
#include "origin/origin.h"

int main(int argc, char** argv) {
  CLI::App app{"sigma-origin: serve HLS channel directories over HTTP (LL-HLS aware). See sigma-origin(1)."};
  sigma::CommonOptions common;
  sigma::add_common_options(app, common);
  sigma::origin::OriginParams p;
  app.add_option("--listen", p.listen, "HOST:PORT to listen on")->capture_default_str();
  app.add_option("--root", p.root, "directory whose subdirectories are channels")->capture_default_str();
  app.add_option("--access-log", p.access_log, "append one JSON line per request to FILE ('-': stdout)");
  app.add_option("--web-dir", p.web_dir, "watch page directory (default: found beside the binary)");
  app.add_option("--threads", p.threads, "I/O threads")->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--hold-timeout", p.hold_timeout_s,
                 "seconds a blocking request is held at most (0: 3 target durations)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 600.0));
  app.add_flag("!--no-fresh-join", p.fresh_join,
               "answer a plain LL-HLS playlist request at once rather than when the next part lands");
  std::string sessions = "on";
  app.add_option("--sessions", sessions,
                 "on: a master playlist asked for without a session starts one (s/SID/ in its URIs); off: masters as they are")
      ->capture_default_str()
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--send-timeout", p.send_timeout_s, "seconds without progress before a client that stops reading is dropped")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  app.add_option("--cache-size", p.cache_mb, "MB of files kept in memory")->capture_default_str()->check(CLI::Range(1, 65536));
  app.add_option("--signed", p.signed_channels,
                 "CH,CH or all: channels served only from signed URLs (/CH/t/TOKEN/...)");
  app.add_option("--signed-file", p.signed_file, "more signed channels, one a line (read again on SIGHUP)");
  app.add_option("--playback-secret", p.playback_secret,
                 "secrets file: current secret first, previous after (read again on SIGHUP)");

  sigma::origin::SignParams sign;
  auto* sign_cmd = app.add_subcommand("sign", "print a signed playback URL of a channel");
  sign_cmd->add_option("CHANNEL", sign.channel, "the channel")->required();
  sign_cmd->add_option("--ttl", sign.ttl, "how long the URL plays: 90s, 30m, 1h, 2d")->capture_default_str();
  sign_cmd->add_option("--ip", sign.ip, "the only client address it plays for (default: any)");
  sign_cmd->add_option("--viewer", sign.viewer, "the viewer id sigma-stats counts it by (default: a random one)");
  sign_cmd->add_option("--secret", sign.secret_file, "the secrets file (its first secret signs)")->required();
  sign_cmd->add_option("--base", sign.base, "what goes before /CH/t/... (default: http:// and --listen)");
  return sigma::run_main(app, argc, argv, "sigma-origin", common,
                         [&] {
                           if (sign_cmd->parsed()) {
                             sign.listen = p.listen;
                             return sigma::origin::run_sign(sign);
                           }
                           p.sessions = sessions == "on";
                           return sigma::origin::run_origin(p, common);
                         });
}
