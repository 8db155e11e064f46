//! A small scanner for the metadata in an HTML page's head: `<title>`, `<meta name|property
//! content>`. Not a parser: it reads tags and quoted attributes, and stops at `<body` or `</head>`.

use std::collections::HashMap;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct PageMeta {
    pub title: Option<String>,
    /// `<meta>` contents by lower-cased `property` or `name` (the first one of each wins).
    pub meta: HashMap<String, String>,
}

impl PageMeta {
    /// The first non-empty value among these meta keys.
    pub fn first(&self, keys: &[&str]) -> Option<String> {
        keys.iter().filter_map(|key| self.meta.get(*key)).find(|v| !v.is_empty()).cloned()
    }
}

/// Longest text kept from one field, in characters.
const MAX_FIELD_CHARS: usize = 1000;

pub fn scan(html: &str) -> PageMeta {
    let mut meta = PageMeta::default();
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(offset) = lower[at..].find('<') {
        let start = at + offset;
        let rest = &lower[start..];
        if rest.starts_with("<!--") {
            at = rest.find("-->").map_or(lower.len(), |end| start + end + 3);
            continue;
        }
        let name_end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '/' || c == '!'))
            .map_or(rest.len(), |n| n + 1);
        let name = &rest[1..name_end];
        let Some(tag_end) = tag_end(html, start + name_end) else { break };
        match name {
            "body" | "/head" => break,
            "meta" => {
                let attrs = attributes(&html[start + name_end..tag_end]);
                let key = attrs.get("property").or_else(|| attrs.get("name")).map(|k| k.to_ascii_lowercase());
                if let (Some(key), Some(content)) = (key, attrs.get("content")) {
                    meta.meta.entry(key).or_insert_with(|| clean(content));
                }
            }
            "title" if meta.title.is_none() => {
                let close = lower[tag_end..].find("</title").map_or(lower.len(), |n| tag_end + n);
                meta.title = Some(clean(&decode_entities(&html[tag_end + 1..close.max(tag_end + 1)])));
                at = close;
                continue;
            }
            // Their contents are not markup: skip to the closing tag.
            "script" | "style" | "noscript" | "template" => {
                let closing = format!("</{name}");
                at = lower[tag_end..].find(&closing).map_or(lower.len(), |n| tag_end + n + closing.len());
                continue;
            }
            _ => {}
        }
        at = tag_end + 1;
    }
    meta
}

/// The index of the `>` closing the tag whose attributes start at `from` (quotes respected).
fn tag_end(html: &str, from: usize) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, byte) in html.as_bytes().iter().enumerate().skip(from) {
        match (quote, *byte) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"') | (None, b'\'') => quote = Some(*byte),
            (None, b'>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// `name="value"`, `name='value'`, `name=value` and bare `name`; names lower-cased, values decoded.
fn attributes(text: &str) -> HashMap<String, String> {
    let mut attrs = HashMap::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let name_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'=' && bytes[i] != b'/' {
            i += 1;
        }
        let name = text[name_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let quote = bytes[i];
                let value_start = i + 1;
                i = value_start;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
                value = text[value_start..i].to_string();
                i += 1;
            } else {
                let value_start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = text[value_start..i].to_string();
            }
        }
        if !name.is_empty() {
            attrs.entry(name).or_insert_with(|| decode_entities(&value));
        }
        if i == name_start {
            i += 1;
        }
    }
    attrs
}

/// The entities pages use in titles and descriptions: the XML five, `&nbsp;` and numeric ones.
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest[1..].find(';').filter(|&end| end <= 10).and_then(|end| {
            let entity = &rest[1..end + 1];
            let ch = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" | "#39" => Some('\''),
                "nbsp" => Some(' '),
                _ => match entity.strip_prefix("#x").or_else(|| entity.strip_prefix("#X")) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok().and_then(char::from_u32),
                    None => entity.strip_prefix('#').and_then(|n| n.parse().ok()).and_then(char::from_u32),
                },
            };
            ch.map(|ch| (ch, end + 2))
        });
        match decoded {
            Some((ch, len)) => {
                out.push(ch);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Collapses whitespace, drops control characters, and caps the length.
fn clean(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.join(" ").chars().filter(|c| !c.is_control()).take(MAX_FIELD_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_title_and_meta_from_the_head_only() {
        let page = r#"<!doctype html><html><head><!-- <title>no</title> -->
            <TITLE> Tom &amp; Jerry&#39;s &#x1F600; </TITLE>
            <script>var s = "<meta property='og:title' content='no'>";</script>
            <meta property="og:title" content="OG &quot;title&quot;">
            <meta name=description content='A > B'>
            <meta name="twitter:image" content="/img.png"/>
            </head><body><meta property="og:site_name" content="too late"></body></html>"#;
        let meta = scan(page);
        assert_eq!(meta.title.as_deref(), Some("Tom & Jerry's \u{1F600}"));
        assert_eq!(meta.first(&["og:title"]).as_deref(), Some("OG \"title\""));
        assert_eq!(meta.first(&["description"]).as_deref(), Some("A > B"));
        assert_eq!(meta.first(&["twitter:image"]).as_deref(), Some("/img.png"));
        assert_eq!(meta.first(&["og:site_name"]), None);
    }

    #[test]
    fn survives_broken_markup() {
        assert_eq!(scan("<title>open").title.as_deref(), Some("open"));
        assert_eq!(scan("<meta content=\"x").meta.len(), 0);
        assert_eq!(decode_entities("&bogus; &amp &#xZZ; &#65;"), "&bogus; &amp &#xZZ; A");
        assert_eq!(scan("<").title, None);
    }
}
