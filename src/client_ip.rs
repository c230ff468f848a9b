//! Who the client is behind reverse proxies (`AGORA_TRUSTED_PROXIES`).
//!
//! Why: per-address limits (the API limiter's anonymous buckets, the login throttle)
//! and the address a session records need the client's address. Behind a load
//! balancer the connection's address is the balancer's, so every anonymous client
//! would share one bucket; but `X-Forwarded-For` / `Forwarded` are plain request
//! headers anyone can send, so believing them from anyone lets a client pick its own
//! bucket (a fresh one per request) or someone else's. So the headers count only on a
//! connection from a listed proxy, and then only as far as the chain of trusted
//! proxies goes: walking the addresses from the right (the one the nearest proxy
//! appended), the first address that is not a trusted proxy is the client. Entries a
//! client put further left are never reached. An entry that is not an IP address
//! (`unknown`, an obfuscated name, garbage) ends the walk at the proxy that passed it.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Parses one `AGORA_TRUSTED_PROXIES` entry: a CIDR range (`10.0.0.0/8`,
/// `fd00::/8`) or a single address (`10.0.0.7`, `::1`).
pub fn parse_proxy(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{text:?} is neither an IP address nor a CIDR range"))
}

/// An address as the client sent it in a forwarding header: `1.2.3.4`,
/// `1.2.3.4:5678`, `[::1]:80`, `::1`, optionally quoted.
fn parse_hop(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    let bracketed = text.strip_prefix('[')?.split(']').next()?;
    bracketed.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// The `for=` addresses of every `Forwarded` header, left to right; `None` per entry
/// that is not an address.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("forwarded")
        .iter()
        .map(|v| v.to_str().unwrap_or(""))
        .flat_map(|v| v.split(','))
        .map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_hop(value))
            })
        })
        .map(Option::flatten)
        .collect()
}

/// The addresses of every `X-Forwarded-For` header, left to right.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().unwrap_or(""))
        .flat_map(|v| v.split(','))
        .map(parse_hop)
        .collect()
}

/// The client's address: `peer` (the connection's) unless it is a trusted proxy, in
/// which case the forwarding headers are walked from the right (see the module docs).
/// `Forwarded` (RFC 7239) is used when present, else `X-Forwarded-For`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops = forwarded_for(headers);
    if hops.is_empty() {
        hops = x_forwarded_for(headers);
    }
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        if !is_trusted(&client) {
            break;
        }
        match hop {
            Some(ip) => client = ip,
            None => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|t| parse_proxy(t).unwrap()).collect()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let spoof = headers(&[("x-forwarded-for", "6.6.6.6"), ("forwarded", "for=7.7.7.7")]);
        assert_eq!(client_ip(ip("1.2.3.4"), &spoof, &[]), ip("1.2.3.4"));
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(client_ip(ip("1.2.3.4"), &spoof, &trusted), ip("1.2.3.4"));
    }

    #[test]
    fn the_rightmost_untrusted_address_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.1"]);
        // The client prepended a fake address; the proxies appended the real ones.
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.1.1.1")]);
        assert_eq!(
            client_ip(ip("192.168.1.1"), &chain, &trusted),
            ip("203.0.113.9")
        );
        // Several headers are one list.
        let split = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &split, &trusted),
            ip("203.0.113.9")
        );
        // Only trusted proxies all the way: the leftmost is the client.
        let all = headers(&[("x-forwarded-for", "10.0.0.9, 10.0.0.8")]);
        assert_eq!(client_ip(ip("10.0.0.2"), &all, &trusted), ip("10.0.0.9"));
        // No header: the proxy itself.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn forwarded_is_preferred_and_parsed_with_ports_and_quotes() {
        let trusted = nets(&["10.0.0.0/8"]);
        let both = headers(&[
            (
                "forwarded",
                "for=6.6.6.6, for=\"[2001:db8::1]:4711\";proto=https",
            ),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &both, &trusted),
            ip("2001:db8::1")
        );
        let with_port = headers(&[("forwarded", "for=198.51.100.7:9000")]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &with_port, &trusted),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn garbage_stops_the_walk_at_the_proxy_that_passed_it() {
        let trusted = nets(&["10.0.0.0/8"]);
        let bad = headers(&[("x-forwarded-for", "6.6.6.6, {evil}:key, 10.0.0.5")]);
        assert_eq!(client_ip(ip("10.0.0.2"), &bad, &trusted), ip("10.0.0.5"));
        let unknown = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &unknown, &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_ranges() {
        let trusted = nets(&["127.0.0.1"]);
        let chain = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &chain, &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn proxy_entries_parse_as_ranges_or_addresses() {
        assert_eq!(parse_proxy("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_proxy(" ::1 ").unwrap().to_string(), "::1/128");
        assert!(parse_proxy("10.0.0.0/33").is_err());
        assert!(parse_proxy("proxy.local").is_err());
    }
}
