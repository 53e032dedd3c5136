//! OTLP endpoint values (§0.3 "Endpoint parsing"): `scheme://host:port/path`. Only an
//! explicit port is ever judged; values with variables are unknown.

/// A parsed endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint<'a> {
    /// `http`, `https`, or `None` when the value has no `scheme://`.
    pub scheme: Option<&'a str>,
    /// Host (may be a variable reference; then nothing is judged on it).
    pub host: &'a str,
    /// Explicit port.
    pub port: Option<u16>,
    /// Byte range of the port digits in the value.
    pub port_range: Option<(usize, usize)>,
    /// The path, `""` when absent (starts with `/` otherwise).
    pub path: &'a str,
    /// Byte offset of the path in the value.
    pub path_start: usize,
}

/// Parses an endpoint; `None` for values built from variables or not URL-like.
pub fn parse(value: &str) -> Option<Endpoint<'_>> {
    let v = value.trim();
    if v.is_empty() || v.contains('$') || v.contains("{{") || v.contains(char::is_whitespace) {
        return None;
    }
    let lead = value.len() - value.trim_start().len();
    let (scheme, rest, rest_at) = match v.find("://") {
        Some(i) => (Some(&v[..i]), &v[i + 3..], i + 3),
        None => (None, v, 0),
    };
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let auth = &rest[..auth_end];
    let path = &rest[auth_end..];
    let path = path.split(['?', '#']).next().unwrap_or("");
    // host:port, [v6]:port
    let (host, port_str, port_at) = if let Some(close) = auth.rfind(']') {
        match auth[close..].find(':') {
            Some(c) => (
                &auth[..close + 1],
                Some(&auth[close + c + 1..]),
                close + c + 1,
            ),
            None => (auth, None, 0),
        }
    } else {
        match auth.rfind(':') {
            Some(c) => (&auth[..c], Some(&auth[c + 1..]), c + 1),
            None => (auth, None, 0),
        }
    };
    let host = host.rsplit('@').next().unwrap_or(host);
    if host.is_empty() {
        return None;
    }
    let (port, port_range) = match port_str {
        Some(p) if !p.is_empty() => {
            let n: u16 = p.parse().ok()?;
            let s = lead + rest_at + port_at;
            (Some(n), Some((s, s + p.len())))
        }
        _ => (None, None),
    };
    Some(Endpoint {
        scheme,
        host,
        port,
        port_range,
        path,
        path_start: lead + rest_at + auth_end,
    })
}

/// Whether `host` is local, private or in-cluster — where a collector listens in plaintext:
/// `localhost`, loopback, `0.0.0.0`, `host.docker.internal`, the private IPv4 ranges
/// (10/8, 172.16/12, 192.168/16), a single DNS label, `*.svc`, `*.svc.cluster.local`.
pub fn is_local_host(host: &str) -> bool {
    let h = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    h == "localhost"
        || h == "::1"
        || h == "0.0.0.0"
        || h == "host.docker.internal"
        || h.ends_with(".svc")
        || h.ends_with(".svc.cluster.local")
        || is_private_ipv4(&h)
        || (!h.contains('.') && !h.contains(':') && !h.is_empty())
}

/// A dotted-quad IPv4 address in loopback (127/8) or a private range (RFC 1918).
fn is_private_ipv4(h: &str) -> bool {
    let Ok(ip) = h.parse::<std::net::Ipv4Addr>() else {
        return false;
    };
    ip.is_loopback() || ip.is_private()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_hosts() {
        for h in [
            "localhost",
            "127.0.0.1",
            "127.1.2.3",
            "0.0.0.0",
            "[::1]",
            "host.docker.internal",
            "10.0.3.7",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.20",
            "otel-collector",
            "collector.observability.svc",
            "collector.observability.svc.cluster.local",
        ] {
            assert!(is_local_host(h), "{h}");
        }
        for h in [
            "172.32.0.1",
            "172.15.0.1",
            "11.0.0.1",
            "192.169.0.1",
            "8.8.8.8",
            "api.honeycomb.io",
            "otlp.example.com",
            "127.example.com",
            "10.example.com",
        ] {
            assert!(!is_local_host(h), "{h}");
        }
    }

    #[test]
    fn endpoints() {
        let e = parse("http://collector:4318/v1/traces").unwrap();
        assert_eq!(
            (e.scheme, e.host, e.port, e.path),
            (Some("http"), "collector", Some(4318), "/v1/traces")
        );
        let v = "http://collector:4318/v1/traces";
        let (a, b) = e.port_range.unwrap();
        assert_eq!(&v[a..b], "4318");
        assert_eq!(&v[e.path_start..], "/v1/traces");
        let e = parse("otel-collector:4317").unwrap();
        assert_eq!(
            (e.scheme, e.host, e.port),
            (None, "otel-collector", Some(4317))
        );
        assert_eq!(parse("https://api.example.com").unwrap().port, None);
        assert!(parse("http://${HOST}:4317").is_none());
        assert!(parse("http://$(OTEL_NODE_IP):4317").is_none());
        assert!(is_local_host("otel-collector") && is_local_host("c.monitoring.svc.cluster.local"));
        assert!(!is_local_host("api.honeycomb.io"));
    }
}
