//! SVG logo sanitising: a small XML tokenizer and an allow-list of elements and attributes.
//! Anything not listed (scripts, foreignObject, event handlers, external references, comments,
//! processing instructions, DOCTYPE and entity declarations) is dropped; broken XML is refused.

use super::html_meta::decode_entities;
use super::integrations::{ToolError, ToolResult};

pub const MAX_SVG_BYTES: usize = 512 * 1024;

const ELEMENTS: &[&str] = &[
    "svg",
    "g",
    "defs",
    "title",
    "desc",
    "symbol",
    "use",
    "path",
    "rect",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "text",
    "tspan",
    "textPath",
    "linearGradient",
    "radialGradient",
    "stop",
    "clipPath",
    "mask",
    "pattern",
    "marker",
    "filter",
    "style",
    "feGaussianBlur",
    "feOffset",
    "feBlend",
    "feColorMatrix",
    "feComposite",
    "feFlood",
    "feMerge",
    "feMergeNode",
    "feMorphology",
    "feDropShadow",
];

const ATTRIBUTES: &[&str] = &[
    "id",
    "class",
    "style",
    "transform",
    "viewBox",
    "width",
    "height",
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "r",
    "rx",
    "ry",
    "fx",
    "fy",
    "d",
    "points",
    "fill",
    "fill-opacity",
    "fill-rule",
    "stroke",
    "stroke-width",
    "stroke-linecap",
    "stroke-linejoin",
    "stroke-miterlimit",
    "stroke-dasharray",
    "stroke-dashoffset",
    "stroke-opacity",
    "opacity",
    "offset",
    "stop-color",
    "stop-opacity",
    "gradientUnits",
    "gradientTransform",
    "spreadMethod",
    "preserveAspectRatio",
    "version",
    "font-family",
    "font-size",
    "font-weight",
    "font-style",
    "text-anchor",
    "dominant-baseline",
    "letter-spacing",
    "clip-path",
    "clip-rule",
    "mask",
    "filter",
    "display",
    "visibility",
    "color",
    "xmlns",
    "xmlns:xlink",
    "href",
    "xlink:href",
    "patternUnits",
    "patternTransform",
    "patternContentUnits",
    "markerWidth",
    "markerHeight",
    "refX",
    "refY",
    "orient",
    "markerUnits",
    "marker-start",
    "marker-mid",
    "marker-end",
    "dx",
    "dy",
    "rotate",
    "textLength",
    "lengthAdjust",
    "stdDeviation",
    "in",
    "in2",
    "result",
    "mode",
    "operator",
    "values",
    "type",
    "flood-color",
    "flood-opacity",
    "k1",
    "k2",
    "k3",
    "k4",
    "radius",
    "clipPathUnits",
    "maskUnits",
    "maskContentUnits",
    "filterUnits",
    "primitiveUnits",
    "xml:space",
    "xml:lang",
    "lang",
    "overflow",
    "shape-rendering",
    "vector-effect",
    "paint-order",
    "text-decoration",
    "startOffset",
];

fn bad_svg(message: &str) -> ToolError {
    ToolError::invalid("svg", message)
}

/// Returns the cleaned document, or refuses input that is not a well-formed SVG.
pub fn sanitize(input: &str) -> ToolResult<String> {
    if input.len() > MAX_SVG_BYTES {
        return Err(ToolError::TooLarge(format!("The SVG is larger than {} KiB.", MAX_SVG_BYTES / 1024)));
    }
    let mut out = String::with_capacity(input.len());
    // Open elements: (name, kept). Inside a dropped element everything is dropped.
    let mut stack: Vec<(String, bool)> = Vec::new();
    let mut seen_root = false;
    let mut rest = input;
    while !rest.is_empty() {
        let dropping = stack.iter().any(|(_, kept)| !kept);
        let Some(lt) = rest.find('<') else {
            if !stack.is_empty() || !rest.trim().is_empty() {
                return Err(bad_svg("The SVG ends before its root element is closed."));
            }
            break;
        };
        let text = &rest[..lt];
        if stack.is_empty() && !text.trim().is_empty() {
            return Err(bad_svg("Text outside the root element: this is not an SVG document."));
        }
        let text = checked_text(text)?;
        if !dropping && !stack.is_empty() {
            push_text(&mut out, &stack, &text);
        }
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            let end = after.find("-->").ok_or_else(|| bad_svg("Unclosed comment."))?;
            rest = &after[end + 3..];
        } else if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").ok_or_else(|| bad_svg("Unclosed CDATA section."))?;
            if !dropping && !stack.is_empty() {
                push_text(&mut out, &stack, &after[..end]);
            }
            rest = &after[end + 3..];
        } else if let Some(after) = rest.strip_prefix("<?") {
            // <?xml …?> and <?xml-stylesheet …?> alike: never kept.
            let end = after.find("?>").ok_or_else(|| bad_svg("Unclosed processing instruction."))?;
            rest = &after[end + 2..];
        } else if rest.starts_with("<!") {
            // DOCTYPE, with or without an internal subset of ENTITY declarations: dropped whole.
            rest = skip_declaration(rest)?;
        } else if let Some(after) = rest.strip_prefix("</") {
            let end = after.find('>').ok_or_else(|| bad_svg("Unclosed end tag."))?;
            let name = after[..end].trim();
            match stack.pop() {
                Some((open, kept)) if open == name => {
                    if kept && !dropping_after_pop(&stack) {
                        out.push_str(&format!("</{name}>"));
                    }
                }
                _ => return Err(bad_svg("Mismatched end tag: the SVG is not well-formed XML.")),
            }
            rest = &after[end + 1..];
        } else {
            let (tag, after) = read_tag(&rest[1..])?;
            if stack.is_empty() {
                if seen_root || tag.name != "svg" {
                    return Err(bad_svg("The document's root element must be <svg>."));
                }
                seen_root = true;
            }
            let kept = !dropping && ELEMENTS.contains(&tag.name.as_str());
            if kept {
                out.push('<');
                out.push_str(&tag.name);
                for (name, value) in &tag.attributes {
                    if let Some(value) = allowed_attribute(name, value) {
                        out.push_str(&format!(" {name}=\"{}\"", escape_attribute(&value)));
                    }
                }
                out.push_str(if tag.self_closing { "/>" } else { ">" });
            }
            if !tag.self_closing {
                stack.push((tag.name, kept));
            }
            rest = after;
        }
    }
    if !seen_root || !stack.is_empty() {
        return Err(bad_svg("This is not a complete SVG document."));
    }
    Ok(out)
}

fn dropping_after_pop(stack: &[(String, bool)]) -> bool {
    stack.iter().any(|(_, kept)| !kept)
}

/// Skips `<!DOCTYPE …>` including a `[ … ]` internal subset.
fn skip_declaration(rest: &str) -> ToolResult<&str> {
    let mut depth = 0usize;
    for (i, ch) in rest.char_indices().skip(2) {
        match ch {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '>' if depth == 0 => return Ok(&rest[i + 1..]),
            _ => {}
        }
    }
    Err(bad_svg("Unclosed declaration."))
}

struct Tag {
    name: String,
    attributes: Vec<(String, String)>,
    self_closing: bool,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.')
}

/// Reads a start tag after its `<`; values come back with entities decoded.
fn read_tag(text: &str) -> ToolResult<(Tag, &str)> {
    let name_len = text.find(|c: char| !is_name_char(c)).unwrap_or(text.len());
    if name_len == 0 {
        return Err(bad_svg("A '<' that starts no tag: the SVG is not well-formed XML."));
    }
    let mut tag = Tag { name: text[..name_len].to_string(), attributes: Vec::new(), self_closing: false };
    let mut rest = &text[name_len..];
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("/>") {
            tag.self_closing = true;
            return Ok((tag, after));
        }
        if let Some(after) = rest.strip_prefix('>') {
            return Ok((tag, after));
        }
        let name_len = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
        if name_len == 0 {
            return Err(bad_svg("A broken tag: the SVG is not well-formed XML."));
        }
        let name = rest[..name_len].to_string();
        rest = rest[name_len..].trim_start();
        rest = rest.strip_prefix('=').ok_or_else(|| bad_svg("An attribute without a value."))?.trim_start();
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'');
        let quote = quote.ok_or_else(|| bad_svg("An attribute value without quotes."))?;
        let end = rest[1..].find(quote).ok_or_else(|| bad_svg("An unclosed attribute value."))?;
        let raw = &rest[1..1 + end];
        if raw.contains('<') {
            return Err(bad_svg("'<' inside an attribute value."));
        }
        if tag.attributes.iter().any(|(n, _)| *n == name) {
            return Err(bad_svg("A repeated attribute."));
        }
        tag.attributes.push((name, checked_text(raw)?));
        rest = &rest[2 + end..];
    }
}

/// Decodes entities, refusing ones XML does not define (a DOCTYPE could have declared them).
fn checked_text(raw: &str) -> ToolResult<String> {
    for (i, _) in raw.match_indices('&') {
        let entity = raw[i + 1..].split(';').next().unwrap_or_default();
        let known = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
            || entity.strip_prefix("#x").is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
            || entity.strip_prefix('#').is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()));
        if !known || !raw[i + 1..].contains(';') {
            return Err(bad_svg("An undefined entity reference."));
        }
    }
    Ok(decode_entities(raw))
}

/// The attribute's value if it may stay: listed, and pointing at nothing outside the document.
fn allowed_attribute(name: &str, value: &str) -> Option<String> {
    if !ATTRIBUTES.contains(&name) {
        return None;
    }
    let squashed: String =
        value.chars().filter(|c| !c.is_whitespace() && !c.is_control()).collect::<String>().to_ascii_lowercase();
    if squashed.contains("javascript:") || squashed.contains("data:") || squashed.contains("expression(") {
        return None;
    }
    if (name == "href" || name == "xlink:href") && !value.trim_start().starts_with('#') {
        return None;
    }
    if !urls_are_local(&squashed) || (name == "style" && !style_is_safe(&squashed)) {
        return None;
    }
    Some(value.to_string())
}

/// Every `url(…)` must point inside the document (`url(#id)`).
fn urls_are_local(squashed: &str) -> bool {
    squashed.match_indices("url(").all(|(i, _)| {
        let target = squashed[i + 4..].trim_start_matches(['"', '\'']);
        target.starts_with('#')
    })
}

fn style_is_safe(squashed: &str) -> bool {
    !squashed.contains("@import") && !squashed.contains('\\') && urls_are_local(squashed)
}

fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn escape_attribute(text: &str) -> String {
    escape_text(text).replace('"', "&quot;")
}

/// A `<style>` element's text may stay when it loads nothing and runs nothing.
fn stylesheet_is_safe(text: &str) -> bool {
    let squashed: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    !squashed.contains("javascript:")
        && !squashed.contains("data:")
        && !squashed.contains("expression(")
        && style_is_safe(&squashed)
}

/// Text inside kept elements, escaped; a stylesheet that fails the check is dropped.
fn push_text(out: &mut String, stack: &[(String, bool)], text: &str) {
    let in_style = stack.last().is_some_and(|(name, _)| name == "style");
    if !in_style || stylesheet_is_safe(text) {
        out.push_str(&escape_text(text));
    }
}

/// A safe file name for a logo: the base name's letters, digits, `-` and `_`, plus `.svg`.
pub fn logo_file_name(requested: &str) -> ToolResult<String> {
    let base = requested.rsplit(['/', '\\']).next().unwrap_or_default();
    let stem = base.strip_suffix(".svg").or_else(|| base.strip_suffix(".SVG")).unwrap_or(base);
    let stem: String = stem.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').take(64).collect();
    if stem.is_empty() {
        return Err(ToolError::invalid("filename", "filename must contain letters or digits."));
    }
    Ok(format!("{stem}.svg"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_scripts_handlers_and_outside_references() {
        let dirty = r##"<?xml version="1.0"?><?xml-stylesheet href="http://evil/x.css"?>
<!DOCTYPE svg [<!ENTITY x "boom">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert(1)" viewBox="0 0 10 10">
<script>alert(1)</script><foreignObject><div>hi</div></foreignObject>
<rect width="10" height="10" fill="url(#g)" onclick="x()" style="fill:url(http://evil/a)"/>
<use href="#r"/><use xlink:href="http://evil/sprite.svg#a"/><use href="JaVa&#x73;cript:alert(1)"/>
<image href="data:image/png;base64,AAAA"/><a href="javascript:alert(1)"><text>x</text></a>
</svg>"##;
        let clean = sanitize(dirty).unwrap();
        for bad in [
            "script",
            "foreignObject",
            "onload",
            "onclick",
            "evil",
            "javascript",
            "DOCTYPE",
            "ENTITY",
            "<image",
            "<a",
            "<?",
        ] {
            assert!(!clean.to_lowercase().contains(&bad.to_lowercase()), "{bad} left in {clean}");
        }
        assert!(clean.contains(r##"fill="url(#g)""##), "{clean}");
        assert!(clean.contains(r##"<use href="#r"/>"##), "{clean}");
        let styled =
            sanitize("<svg><style>@import url(http://evil/x.css);</style><style>.a{fill:red}</style></svg>").unwrap();
        assert_eq!(styled, "<svg><style></style><style>.a{fill:red}</style></svg>");
    }

    #[test]
    fn refuses_what_is_not_an_svg() {
        for bad in [
            "",
            "hello",
            "<html></html>",
            "<svg><g></svg>",
            "<svg>&x;</svg>",
            "<svg a=b></svg>",
            "<svg></svg><svg></svg>",
        ] {
            assert!(matches!(sanitize(bad), Err(ToolError::Invalid { .. })), "{bad}");
        }
        assert!(matches!(sanitize(&" ".repeat(MAX_SVG_BYTES + 1)), Err(ToolError::TooLarge(_))));
    }

    #[test]
    fn file_names_cannot_leave_the_folder() {
        assert_eq!(logo_file_name("../../etc/passwd").unwrap(), "passwd.svg");
        assert_eq!(logo_file_name("my logo.svg").unwrap(), "mylogo.svg");
        assert!(logo_file_name("../..").is_err());
    }
}
