//! DNS resolution that only ever hands the HTTP client vetted addresses.
//!
//! Checking a name's addresses and then letting the client resolve it again would leave a gap a
//! hostile DNS server can use (answer a public address to the check, a private one to the
//! connect). Resolving here, inside the client, means the addresses we judged are the ones it
//! connects to.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::guard::BlockedAddress;

pub(crate) struct GuardedResolver {
    pub allow_loopback: bool,
    pub lookup_timeout: Duration,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allow_loopback = self.allow_loopback;
        let lookup_timeout = self.lookup_timeout;
        Box::pin(async move {
            let lookup = tokio::time::timeout(lookup_timeout, tokio::net::lookup_host((host.as_str(), 0)))
                .await
                .map_err(|_| format!("looking up {host} took longer than {} ms", lookup_timeout.as_millis()))?
                .map_err(|error| format!("looking up {host} failed: {error}"))?;
            let addresses: Vec<SocketAddr> = lookup.collect();
            if addresses.is_empty() {
                return Err(format!("{host} has no addresses").into());
            }
            // One forbidden answer refuses the name outright: a name that mixes public and private
            // addresses is either misconfigured or trying to reach our network.
            for address in &addresses {
                BlockedAddress::check(&host, address.ip(), allow_loopback)?;
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}
