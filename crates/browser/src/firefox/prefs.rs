//! The `user.js` of every Firefox profile: what keeps a fresh Firefox from reaching any host
//! but the embedded server (on 127.0.0.1, or across an emulated network).
//!
//! Out of the box Firefox ESR talks to Mozilla's and Google's services on its own
//! (`crates/browser/FINDINGS.md`, "firefox/prefs.rs"). Three layers stop that, each enough for
//! what it covers:
//!
//! 1. These preferences switch the services off (telemetry, studies, remote settings, updates,
//!    safe browsing lists, captive portal and connectivity checks, push, geolocation and region,
//!    search suggestions, DNS over HTTPS, speculative connections and prefetch, HTTP/3).
//! 2. `network.dns.native-is-localhost`: every DNS lookup becomes a lookup of `localhost`, so no
//!    DNS query leaves the machine; the server is addressed by its IP literal.
//! 3. The launch environment (`ENV` in the parent module): Gecko aborts on any connection to a
//!    non-local address, which fails the point loudly, and release builds honour
//!    `services.settings.server`. In a network namespace of its own the namespace, whose only
//!    route leads to the server, takes the abort's place (`ENV_IN_NAMESPACE`).
//!
//! None of these touches what is measured: connections per server, HTTP/2, queueing and
//! EventSource stay at their defaults (a test below checks the names). `tests/isolation.rs`
//! checks the result at the system-call level: during a whole point the browser's processes
//! connect to nothing but the server's port.
//!
//! HTTP/3 is off ([`PREFS`]) except for a server on QUIC (the `h3` arm), where [`http3`] turns it
//! on for the server's address alone.

use std::fmt::Write as _;
use std::net::SocketAddr;

/// A preference value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pref {
    Bool(bool),
    Int(i32),
    Str(&'static str),
    /// A string made for one launch (the server's address).
    Owned(String),
}

/// Every preference written to `user.js`: name, value.
pub const PREFS: &[(&str, Pref)] = &[
    // First run, start page, new tabs: nothing loaded from the network.
    ("browser.shell.checkDefaultBrowser", Pref::Bool(false)),
    (
        "browser.startup.homepage_override.mstone",
        Pref::Str("ignore"),
    ),
    ("browser.startup.page", Pref::Int(0)),
    ("startup.homepage_welcome_url", Pref::Str("about:blank")),
    ("startup.homepage_welcome_url.additional", Pref::Str("")),
    ("browser.aboutwelcome.enabled", Pref::Bool(false)),
    ("browser.newtabpage.enabled", Pref::Bool(false)),
    ("browser.topsites.contile.enabled", Pref::Bool(false)),
    ("browser.discovery.enabled", Pref::Bool(false)),
    // Telemetry, usage reporting, studies and experiments.
    (
        "datareporting.policy.dataSubmissionEnabled",
        Pref::Bool(false),
    ),
    (
        "datareporting.policy.dataSubmissionPolicyBypassNotification",
        Pref::Bool(true),
    ),
    (
        "datareporting.healthreport.uploadEnabled",
        Pref::Bool(false),
    ),
    ("datareporting.usage.uploadEnabled", Pref::Bool(false)),
    ("toolkit.telemetry.enabled", Pref::Bool(false)),
    ("toolkit.telemetry.unified", Pref::Bool(false)),
    ("toolkit.telemetry.archive.enabled", Pref::Bool(false)),
    ("toolkit.telemetry.server", Pref::Str("")),
    (
        "toolkit.telemetry.newProfilePing.enabled",
        Pref::Bool(false),
    ),
    (
        "toolkit.telemetry.shutdownPingSender.enabled",
        Pref::Bool(false),
    ),
    (
        "toolkit.telemetry.firstShutdownPing.enabled",
        Pref::Bool(false),
    ),
    ("toolkit.telemetry.updatePing.enabled", Pref::Bool(false)),
    ("toolkit.telemetry.bhrPing.enabled", Pref::Bool(false)),
    ("toolkit.telemetry.dap_enabled", Pref::Bool(false)),
    ("toolkit.coverage.opt-out", Pref::Bool(true)),
    ("toolkit.coverage.endpoint.base", Pref::Str("")),
    ("app.normandy.enabled", Pref::Bool(false)),
    ("app.normandy.api_url", Pref::Str("")),
    ("app.shield.optoutstudies.enabled", Pref::Bool(false)),
    // Remote settings (blocklists, Nimbus experiments, ...): the dummy URL Mozilla's own
    // automation uses; honoured because of the launch environment (see above).
    (
        "services.settings.server",
        Pref::Str("data:,#remote-settings-dummy/v1"),
    ),
    // Updates of the browser, add-ons, search engines and media plug-ins.
    ("app.update.disabledForTesting", Pref::Bool(true)),
    ("app.update.auto", Pref::Bool(false)),
    ("app.update.checkInstallTime", Pref::Bool(false)),
    ("extensions.update.enabled", Pref::Bool(false)),
    ("extensions.update.autoUpdateDefault", Pref::Bool(false)),
    ("extensions.systemAddon.update.enabled", Pref::Bool(false)),
    ("extensions.getAddons.cache.enabled", Pref::Bool(false)),
    ("extensions.blocklist.enabled", Pref::Bool(false)),
    ("browser.search.update", Pref::Bool(false)),
    ("media.gmp-manager.updateEnabled", Pref::Bool(false)),
    ("media.gmp-manager.url", Pref::Str("")),
    ("media.gmp-gmpopenh264.enabled", Pref::Bool(false)),
    ("media.gmp-widevinecdm.enabled", Pref::Bool(false)),
    ("browser.ml.enable", Pref::Bool(false)),
    // Certificate services. The server's certificate is trusted by a per-profile override
    // (cert_override.txt), not by disabling checks; it names no OCSP responder anyway.
    ("security.OCSP.enabled", Pref::Int(0)),
    (
        "security.remote_settings.crlite_filters.enabled",
        Pref::Bool(false),
    ),
    (
        "security.remote_settings.intermediates.enabled",
        Pref::Bool(false),
    ),
    (
        "security.certerrors.mitm.priming.enabled",
        Pref::Bool(false),
    ),
    // Safe browsing and tracking-protection list downloads.
    ("browser.safebrowsing.malware.enabled", Pref::Bool(false)),
    ("browser.safebrowsing.phishing.enabled", Pref::Bool(false)),
    (
        "browser.safebrowsing.blockedURIs.enabled",
        Pref::Bool(false),
    ),
    ("browser.safebrowsing.downloads.enabled", Pref::Bool(false)),
    (
        "browser.safebrowsing.downloads.remote.enabled",
        Pref::Bool(false),
    ),
    (
        "browser.safebrowsing.provider.google.updateURL",
        Pref::Str(""),
    ),
    (
        "browser.safebrowsing.provider.google.gethashURL",
        Pref::Str(""),
    ),
    (
        "browser.safebrowsing.provider.google4.updateURL",
        Pref::Str(""),
    ),
    (
        "browser.safebrowsing.provider.google4.gethashURL",
        Pref::Str(""),
    ),
    (
        "browser.safebrowsing.provider.google5.updateURL",
        Pref::Str(""),
    ),
    (
        "browser.safebrowsing.provider.google5.gethashURL",
        Pref::Str(""),
    ),
    (
        "browser.safebrowsing.provider.mozilla.updateURL",
        Pref::Str(""),
    ),
    (
        "browser.safebrowsing.provider.mozilla.gethashURL",
        Pref::Str(""),
    ),
    // Connectivity and captive-portal probes, push, location, search suggestions, accounts.
    ("network.captive-portal-service.enabled", Pref::Bool(false)),
    ("captivedetect.canonicalURL", Pref::Str("")),
    ("network.connectivity-service.enabled", Pref::Bool(false)),
    ("dom.push.enabled", Pref::Bool(false)),
    ("dom.push.connection.enabled", Pref::Bool(false)),
    ("dom.push.serverURL", Pref::Str("")),
    ("geo.provider.network.url", Pref::Str("")),
    ("browser.region.network.url", Pref::Str("")),
    ("browser.region.update.enabled", Pref::Bool(false)),
    ("browser.search.suggest.enabled", Pref::Bool(false)),
    ("browser.urlbar.suggest.searches", Pref::Bool(false)),
    ("browser.urlbar.merino.endpointURL", Pref::Str("")),
    ("identity.fxaccounts.enabled", Pref::Bool(false)),
    // Name resolution: no DNS over HTTPS; every native lookup answered as `localhost`; no DNS
    // HTTPS-record queries (they go through res_query, not the lookup above).
    ("network.trr.mode", Pref::Int(5)),
    ("network.dns.native-is-localhost", Pref::Bool(true)),
    ("network.dns.native_https_query", Pref::Bool(false)),
    ("network.dns.use_https_rr_as_altsvc", Pref::Bool(false)),
    ("network.dns.disablePrefetch", Pref::Bool(true)),
    // Connections: direct (no proxy from the environment), no speculative connections or
    // prefetch, no HTTP/3 (Chromium runs with --disable-quic; only the h3 arm's server speaks
    // QUIC, and `http3` turns it on for that server alone).
    ("network.proxy.type", Pref::Int(0)),
    ("network.http.speculative-parallel-limit", Pref::Int(0)),
    ("network.prefetch-next", Pref::Bool(false)),
    ("network.http.http3.enable", Pref::Bool(false)),
];

/// The preferences that put Firefox on HTTP/3 to the server at `addr`, and to nothing else, as
/// the capture found them needed (`scripts/h3-capture/FINDINGS.md`, "Setup"): HTTP/3 on; the
/// testing mapping that sends `addr`'s origin to QUIC on its own port (the server serves no
/// `Alt-Svc`, and speaks no TCP on the `h3` arm); its use forced; and HTTP/3 kept when a root the
/// profile trusts is not built in (the server's certificate override counts as one: with the
/// default `true` Firefox closes the QUIC connection after its handshake and goes to TCP).
pub fn http3(addr: SocketAddr) -> [(&'static str, Pref); 4] {
    let host = match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    };
    [
        ("network.http.http3.enable", Pref::Bool(true)),
        (
            "network.http.http3.alt-svc-mapping-for-testing",
            Pref::Owned(format!("{host};h3=:{}", addr.port())),
        ),
        (
            "network.http.http3.force-use-alt-svc-mapping-for-testing",
            Pref::Bool(true),
        ),
        (
            "network.http.http3.disable_when_third_party_roots_found",
            Pref::Bool(false),
        ),
    ]
}

/// The `user.js` text of a profile for a server on TCP (no HTTP/3).
pub fn user_js() -> String {
    write_user_js(&[])
}

/// The `user.js` text of a profile for the server at `addr` on `transport`: [`PREFS`], with
/// [`http3`]'s in place of theirs for a server on QUIC.
pub fn user_js_for(transport: vocab::Transport, addr: SocketAddr) -> String {
    match transport {
        vocab::Transport::Tcp => user_js(),
        vocab::Transport::Udp => write_user_js(&http3(addr)),
    }
}

/// [`PREFS`], each overridden by its entry in `overrides` if it has one, then the overrides that
/// [`PREFS`] does not name: one line per preference.
fn write_user_js(overrides: &[(&'static str, Pref)]) -> String {
    let mut out = String::from(
        "// Written by ssebench (crates/browser/src/firefox/prefs.rs): no traffic beyond the server.\n",
    );
    let overridden = |name: &str| overrides.iter().find(|(n, _)| *n == name);
    let base = PREFS
        .iter()
        .map(|(name, value)| overridden(name).unwrap_or(&(name, value.clone())).clone());
    let added = overrides
        .iter()
        .filter(|(name, _)| !PREFS.iter().any(|(n, _)| n == name))
        .cloned();
    for (name, value) in base.chain(added).collect::<Vec<_>>() {
        let value = match value {
            Pref::Bool(b) => b.to_string(),
            Pref::Int(i) => i.to_string(),
            Pref::Str(s) => serde_json::to_string(s).expect("a string serializes"),
            Pref::Owned(s) => serde_json::to_string(&s).expect("a string serializes"),
        };
        let _ = writeln!(out, "user_pref({name:?}, {value});");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_js_has_one_line_per_pref_and_no_duplicates() {
        let text = user_js();
        assert_eq!(text.lines().count(), PREFS.len() + 1);
        assert!(text.contains("user_pref(\"network.dns.native-is-localhost\", true);"));
        assert!(text.contains("user_pref(\"network.trr.mode\", 5);"));
        assert!(text.contains(
            "user_pref(\"services.settings.server\", \"data:,#remote-settings-dummy/v1\");"
        ));
        let mut names: Vec<&str> = PREFS.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "a pref is listed twice");
    }

    /// For a server on QUIC, HTTP/3 is on and mapped to its address alone, each preference once.
    #[test]
    fn http3_for_the_server_alone() {
        let addr: SocketAddr = "198.18.1.2:4433".parse().unwrap();
        let tcp = user_js_for(vocab::Transport::Tcp, addr);
        assert_eq!(tcp, user_js());
        assert!(tcp.contains("user_pref(\"network.http.http3.enable\", false);"));
        assert!(!tcp.contains("alt-svc-mapping"));
        let quic = user_js_for(vocab::Transport::Udp, addr);
        assert!(quic.contains("user_pref(\"network.http.http3.enable\", true);"));
        assert!(!quic.contains("user_pref(\"network.http.http3.enable\", false);"));
        assert!(quic.contains(
            "user_pref(\"network.http.http3.alt-svc-mapping-for-testing\", \"198.18.1.2;h3=:4433\");"
        ));
        assert!(quic.contains(
            "user_pref(\"network.http.http3.disable_when_third_party_roots_found\", false);"
        ));
        assert_eq!(quic.lines().count(), PREFS.len() + 1 + 3, "one line each");
        let mut names: Vec<&str> = quic
            .lines()
            .filter_map(|l| l.strip_prefix("user_pref(\""))
            .filter_map(|l| l.split('"').next())
            .collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "a pref is written twice");
    }

    /// What is measured must stay at Firefox's defaults.
    #[test]
    fn measured_behaviour_is_left_alone() {
        for (name, _) in PREFS {
            for untouched in [
                "network.http.max-persistent-connections",
                "network.http.max-connections",
                "network.http.http2.",
                "network.http.spdy.",
                "network.websocket.",
                "dom.serverEvents.",
            ] {
                assert!(!name.starts_with(untouched), "{name}");
            }
        }
    }
}
