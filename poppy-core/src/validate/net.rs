//! Client-IP restriction values (§3.6): an IPv4 or IPv6 address with an
//! optional CIDR prefix length.

use std::net::Ipv6Addr;

use super::domain::is_valid_ipv4;

/// An IPv4 address (dotted quad, as for origins) optionally followed by
/// `/1`..`/32`, or an IPv6 address optionally followed by `/1`..`/128`.
/// Prefix lengths have no leading zero and `/0` is refused, as in the
/// original's pattern.
///
/// IPv6 addresses are parsed with the standard library rather than the
/// original's long regex; that accepts every textual form of RFC 4291
/// (including `1:2:3:4:5:6:1.2.3.4`, which the regex missed) and refuses
/// zone suffixes (`fe80::1%eth0`), which are meaningless for a client.
pub fn is_valid_client_ip(value: &str) -> bool {
    let (addr, prefix) = match value.split_once('/') {
        Some((addr, prefix)) => (addr, Some(prefix)),
        None => (value, None),
    };
    if is_valid_ipv4(addr) {
        prefix.is_none_or(|p| prefix_in(p, 32))
    } else if addr.parse::<Ipv6Addr>().is_ok() {
        prefix.is_none_or(|p| prefix_in(p, 128))
    } else {
        false
    }
}

fn prefix_in(prefix: &str, max: u32) -> bool {
    !prefix.is_empty()
        && prefix.len() <= 3
        && !prefix.starts_with('0')
        && prefix.bytes().all(|b| b.is_ascii_digit())
        && prefix.parse::<u32>().is_ok_and(|n| (1..=max).contains(&n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_upstream_positive_addresses() {
        for ok in [
            "1.2.3.4",
            "1.1.1.1",
            "5.6.7.8",
            "2001:4802:7802:104:be76:4eff:fe20:4b5f",
            "1200:0000:AB00:1234:0000:2552:7777:1313",
            "21DA:D3:0:2F3B:2AA:FF:FE28:9C5A",
            "173.203.4.162/32",
            "173.203.4.162/24",
            "203.0.113.0/24",
            "1203:8fe0:fe80:b897:8990:8a7c:99bf:323d/123",
            "1203:8fe0:fe80:b897:8990:8a7c:99bf:323d/100",
            "::1",
            "::ffff:1.2.3.4",
            "10.0.0.0/1",
            "::/128",
        ] {
            assert!(is_valid_client_ip(ok), "{ok} should be valid");
        }
    }

    #[test]
    fn rejects_the_upstream_negative_addresses() {
        for bad in [
            "1.2.3",
            "13.4.5",
            "348.2.3.2",
            ":",
            "192.168.0.1/33",
            "192.168.0.1/-3",
            "192.168.0.1/0",
            "192.168.0.1/08",
            "192.168.0.1/",
            "1203:8fe0:fe80:b897:8990:8a7c:99bf:323d/129",
            "1200::AB00:1234::2552:7777:1313",
            "1200:0000:AB00:1234:O000:2552:7777:1313",
            "fe80::1%eth0",
            "1.2.3.4/24/2",
            "",
            "www.mywebsite.com",
        ] {
            assert!(!is_valid_client_ip(bad), "{bad:?} should be invalid");
        }
    }
}
