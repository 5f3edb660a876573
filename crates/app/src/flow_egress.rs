//! Where a flow's `httpRequest` steps may connect. A flow author writes any URL; the operator
//! decides which networks are off limits (by default the link-local range where clouds serve
//! instance credentials). Every address is checked when the connection is made — IP literals
//! before sending, host names as they resolve (so a name that later resolves elsewhere does not
//! get past), and each redirect target.

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Networks flows may not reach unless the operator says otherwise: cloud metadata services.
pub const DEFAULT_DENIED_NETWORKS: &str = "169.254.0.0/16,fe80::/10,fd00:ec2::254/128";

/// The networks denied to flows.
#[derive(Debug, Clone)]
pub struct DeniedNetworks(Arc<Vec<IpNet>>);

impl Default for DeniedNetworks {
    fn default() -> Self {
        DeniedNetworks::parse(DEFAULT_DENIED_NETWORKS).expect("the default networks parse")
    }
}

impl DeniedNetworks {
    /// Comma-separated CIDRs (`10.0.0.0/8,127.0.0.1/32`); `none` denies nothing. A bad entry is
    /// named.
    pub fn parse(text: &str) -> Result<DeniedNetworks, String> {
        if text.trim().eq_ignore_ascii_case("none") {
            return Ok(DeniedNetworks(Arc::new(Vec::new())));
        }
        let networks = text
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!(
                            "{entry:?} is not a network (CIDR such as 10.0.0.0/8) or an address"
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DeniedNetworks(Arc::new(networks)))
    }

    /// The denied network `address` is in, if any (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn denying(&self, address: IpAddr) -> Option<IpNet> {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(address),
            v4 => v4,
        };
        self.0.iter().find(|net| net.contains(&address)).copied()
    }

    /// The refusal for `url`, if its host is an address in a denied network.
    pub fn refuse_url(&self, url: &url::Url) -> Option<String> {
        let address = match url.host()? {
            url::Host::Ipv4(v4) => IpAddr::V4(v4),
            url::Host::Ipv6(v6) => IpAddr::V6(v6),
            url::Host::Domain(_) => return None,
        };
        self.denying(address).map(|net| refusal(address, net))
    }

    /// A resolver that drops denied addresses, and fails when nothing else is left.
    pub fn resolver(&self) -> GuardedResolver {
        GuardedResolver {
            denied: self.clone(),
        }
    }

    /// Follows up to `max` redirects, none to a denied address.
    pub fn redirect_policy(&self, max: usize) -> reqwest::redirect::Policy {
        let denied = self.clone();
        reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= max {
                return attempt.error(format!("more than {max} redirects"));
            }
            match denied.refuse_url(attempt.url()) {
                Some(refused) => attempt.error(refused),
                None => attempt.follow(),
            }
        })
    }
}

fn refusal(address: IpAddr, net: IpNet) -> String {
    format!(
        "{address} is in {net}, a network flows may not reach (the operator's FERRY_FLOW_HTTP_DENY)"
    )
}

pub struct GuardedResolver {
    denied: DeniedNetworks,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let denied = self.denied.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|address| match denied.denying(address.ip()) {
                    Some(net) => {
                        refused = Some(refusal(address.ip(), net));
                        false
                    }
                    None => true,
                })
                .collect();
            match (allowed.is_empty(), refused) {
                (true, Some(refused)) => Err(format!("{host}: {refused}").into()),
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_addresses_are_denied_by_default_and_others_are_not() {
        let denied = DeniedNetworks::default();
        assert!(denied.denying("169.254.169.254".parse().unwrap()).is_some());
        assert!(
            denied
                .denying("::ffff:169.254.169.254".parse().unwrap())
                .is_some()
        );
        assert!(denied.denying("fd00:ec2::254".parse().unwrap()).is_some());
        assert!(denied.denying("127.0.0.1".parse().unwrap()).is_none());
        assert!(denied.denying("10.1.2.3".parse().unwrap()).is_none());
        let url = url::Url::parse("http://169.254.169.254/latest/meta-data/").unwrap();
        assert!(denied.refuse_url(&url).unwrap().contains("169.254.0.0/16"));
    }

    #[test]
    fn the_operator_lists_networks_or_none_and_a_bad_entry_is_named() {
        let denied = DeniedNetworks::parse("127.0.0.0/8, 10.0.0.1").unwrap();
        assert!(denied.denying("127.0.0.2".parse().unwrap()).is_some());
        assert!(denied.denying("10.0.0.1".parse().unwrap()).is_some());
        assert!(denied.denying("10.0.0.2".parse().unwrap()).is_none());
        assert!(
            DeniedNetworks::parse("none")
                .unwrap()
                .denying("169.254.169.254".parse().unwrap())
                .is_none()
        );
        let error = DeniedNetworks::parse("10.0.0.0/8,intranet").unwrap_err();
        assert!(error.contains("\"intranet\""), "{error}");
    }
}
