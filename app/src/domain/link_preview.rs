//! Link previews: fetch a page (http/https only, public addresses only, 5 redirects, 1 MiB) and
//! read its title, description, image and site name. Every hop's host is resolved once, every
//! address checked, and the connection made to a checked address, so DNS rebinding cannot reach
//! a private network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

use super::html_meta;
use super::integrations::{Integrations, ToolError, ToolResult};

pub const MAX_REDIRECTS: usize = 5;
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;
const MAX_URL_CHARS: usize = 2048;

#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// The page's address after redirects.
    pub url: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
    pub site_name: Option<String>,
}

/// Parses and checks the shape of a URL: http or https, with a host, no credentials.
pub fn parse_url(text: &str) -> ToolResult<Url> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_URL_CHARS {
        return Err(ToolError::invalid("url", format!("url must be 1 to {MAX_URL_CHARS} characters.")));
    }
    let url = Url::parse(text).map_err(|_| ToolError::invalid("url", "url is not a valid absolute URL."))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ToolError::invalid("url", "url must start with http:// or https://."));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ToolError::invalid("url", "url must name a host."));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ToolError::invalid("url", "url must not carry a user name or password."));
    }
    Ok(url)
}

/// True for addresses a server-side fetch must not reach: private, loopback, link-local,
/// multicast, unspecified, and the like (IPv4-mapped IPv6 judged as the IPv4 inside).
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None => forbidden_v6(v6),
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64 can reach IPv4 privates
        || first == 0x2002 // 6to4 embeds IPv4
        || ip.to_ipv4().is_some_and(forbidden_v4) // IPv4-compatible (deprecated)
}

enum Host<'a> {
    Ip(IpAddr),
    Name(&'a str),
}

/// The URL's host: an IP literal (IPv6 comes in brackets) or a name to resolve.
fn host(url: &Url) -> Host<'_> {
    let text = url.host_str().unwrap_or_default();
    match text.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(ip) => Host::Ip(ip),
        Err(_) => Host::Name(text),
    }
}

/// Resolves the URL's host and returns its addresses, once every one of them passed the check.
async fn checked_addresses(url: &Url, reach: &Integrations) -> ToolResult<Vec<SocketAddr>> {
    let port = url.port_or_known_default().unwrap_or(80);
    let addresses: Vec<SocketAddr> = match host(url) {
        Host::Ip(ip) => vec![SocketAddr::new(ip, port)],
        Host::Name(name) => tokio::net::lookup_host((name, port))
            .await
            .map_err(|_| ToolError::Upstream(format!("Could not resolve the host name {name}.")))?
            .collect(),
    };
    if addresses.is_empty() {
        return Err(ToolError::Upstream("The host name has no addresses.".into()));
    }
    let refused = |a: &SocketAddr| is_forbidden(a.ip()) && !reach.link_preview_allowed.contains(a);
    if !reach.link_preview_allow_private && addresses.iter().any(refused) {
        return Err(ToolError::Refused(
            "This URL points to a private, loopback or otherwise non-public address; Hearth does not fetch it.".into(),
        ));
    }
    Ok(addresses)
}

pub async fn preview(text: &str, reach: &Integrations) -> ToolResult<Preview> {
    let timeout = reach.timeout;
    let url = parse_url(text)?;
    match tokio::time::timeout(timeout, fetch(url, reach)).await {
        Ok(result) => result,
        Err(_) => Err(ToolError::Timeout),
    }
}

async fn fetch(mut url: Url, reach: &Integrations) -> ToolResult<Preview> {
    for _ in 0..=MAX_REDIRECTS {
        let addresses = checked_addresses(&url, reach).await?;
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(reach.timeout)
            .user_agent("HearthLinkPreview/1.0");
        if let Host::Name(name) = host(&url) {
            // Connect to the addresses just checked, not to whatever a second lookup returns.
            builder = builder.resolve_to_addrs(name, &addresses);
        }
        let client = builder.build().map_err(|e| ToolError::Internal(e.to_string()))?;
        let response = client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "text/html,application/xhtml+xml")
            .send()
            .await
            .map_err(|e| ToolError::from_reqwest(e, "linked page's"))?;
        if response.status().is_redirection() {
            let location = response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok());
            let next = location.and_then(|l| url.join(l).ok());
            let next = next.ok_or_else(|| ToolError::Upstream("The page redirects nowhere.".into()))?;
            url = parse_url(next.as_str())
                .map_err(|_| ToolError::Refused("The page redirects to a URL Hearth does not fetch.".into()))?;
            continue;
        }
        if !response.status().is_success() {
            return Err(ToolError::Upstream(format!("The page answered {}.", response.status().as_u16())));
        }
        let is_html = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|t| t.contains("html"));
        let body = if is_html { read_capped(response).await? } else { String::new() };
        return Ok(describe(url, &body));
    }
    Err(ToolError::Upstream(format!("The page redirects more than {MAX_REDIRECTS} times.")))
}

/// The first `MAX_PAGE_BYTES` of the body: the head is what matters, so a long page is cut short.
async fn read_capped(mut response: reqwest::Response) -> ToolResult<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| ToolError::from_reqwest(e, "linked page's"))? {
        let room = MAX_PAGE_BYTES - bytes.len();
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() >= MAX_PAGE_BYTES {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn describe(url: Url, html: &str) -> Preview {
    let meta = html_meta::scan(html);
    let image = meta
        .first(&["og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src"])
        .and_then(|src| url.join(&src).ok())
        .filter(|src| matches!(src.scheme(), "http" | "https"))
        .map(String::from);
    Preview {
        title: meta.first(&["og:title", "twitter:title"]).or(meta.title.clone().filter(|t| !t.is_empty())),
        description: meta.first(&["og:description", "twitter:description", "description"]),
        site_name: meta.first(&["og:site_name", "application-name"]),
        image,
        url: url.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_forbidden() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "100.64.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn only_http_urls_with_hosts() {
        assert!(parse_url("https://example.org/a").is_ok());
        for bad in [
            "",
            "example.org",
            "ftp://example.org",
            "javascript:alert(1)",
            "http://user:pw@example.org",
            "file:///etc/passwd",
        ] {
            assert!(matches!(parse_url(bad), Err(ToolError::Invalid { .. })), "{bad}");
        }
    }
}
