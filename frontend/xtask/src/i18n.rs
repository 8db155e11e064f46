//! `cargo xtask i18n`: what the compiler cannot see about the message catalogue.
//!
//! - Every language has exactly the keys English has (plural forms aside: each language has the
//!   forms its own plural rules need), none of them empty.
//! - No user-facing text is written in the app's views outside the catalogue: text between
//!   tags and user-facing attributes (`placeholder`, `title`, `aria-label`, …) in `view!`.
//! - Mails take their subject and body from the catalogue.
//! - The stylesheets use logical properties (`margin-inline-start`, not `margin-left`), so
//!   right-to-left languages mirror the layout; a deliberate exception carries `/* physical: why */`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

use crate::{header, root};

/// Attributes and component props whose value people read (or hear, through a screen reader).
const USER_FACING_ATTRIBUTES: &[&str] = &[
    "placeholder",
    "title",
    "alt",
    "label",
    "text",
    "aria-label",
    "aria-description",
    "aria-placeholder",
    "aria-roledescription",
    "aria-valuetext",
];

/// ICU plural categories, which languages use in different sets.
const PLURAL_SUFFIXES: &[&str] = &["_zero", "_one", "_two", "_few", "_many", "_other"];

pub fn check() -> Result<()> {
    header("i18n: catalogue completeness, strings in views, mails, logical CSS");
    let mut problems = Vec::new();
    problems.extend(catalogue_problems(&root().join("app/locales"))?);
    for file in rust_files(&root().join("app/src/ui"))? {
        problems.extend(view_problems(&file)?);
    }
    problems.extend(mail_problems(&root().join("app/src/domain"))?);
    for file in files_with_extension(&root().join("style"), "css")? {
        problems.extend(css_problems(&file)?);
    }
    if problems.is_empty() {
        println!("i18n: ok");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    bail!("{} i18n problem(s): move the text into app/locales (see README, \"Languages\")", problems.len())
}

/// Keys of a catalogue file, nested sections joined with dots, plural forms folded into their key.
fn catalogue_keys(
    value: &serde_json::Value,
    prefix: &str,
    keys: &mut BTreeSet<String>,
    strings: &mut Vec<(String, String)>,
) {
    match value {
        serde_json::Value::Object(entries) => {
            for (name, value) in entries {
                let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                catalogue_keys(value, &key, keys, strings);
            }
        }
        serde_json::Value::String(text) => {
            let base = PLURAL_SUFFIXES.iter().find_map(|s| prefix.strip_suffix(s)).unwrap_or(prefix);
            keys.insert(base.to_string());
            strings.push((prefix.to_string(), text.clone()));
        }
        other => {
            keys.insert(prefix.to_string());
            strings.push((prefix.to_string(), other.to_string()));
        }
    }
}

fn catalogue_problems(dir: &Path) -> Result<Vec<String>> {
    let mut languages = BTreeMap::new();
    for file in files_with_extension(dir, "json")? {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", file.display()))?;
        let (mut keys, mut strings) = (BTreeSet::new(), Vec::new());
        catalogue_keys(&json, "", &mut keys, &mut strings);
        let name = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        languages.insert(name, (file, keys, strings));
    }
    let Some((_, english, _)) = languages.get("en") else { bail!("{} has no en.json", dir.display()) };
    let mut problems = Vec::new();
    for (language, (file, keys, strings)) in &languages {
        for missing in english.difference(keys) {
            problems.push(format!("{}: missing key {missing} (English has it)", file.display()));
        }
        for surplus in keys.difference(english) {
            problems.push(format!("{}: key {surplus} is not in en.json", file.display()));
        }
        for (key, text) in strings {
            if text.trim().is_empty() {
                problems.push(format!("{}: {key} is empty in {language}", file.display()));
            }
        }
    }
    Ok(problems)
}

/// Text a person reads: has a letter (punctuation, symbols and numbers alone are not language).
fn is_prose(text: &str) -> bool {
    text.chars().any(char::is_alphabetic)
}

fn view_problems(file: &Path) -> Result<Vec<String>> {
    let source = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let syntax = syn::parse_file(&source).with_context(|| format!("parsing {}", file.display()))?;
    let mut finder = ViewText { file, problems: Vec::new() };
    finder.visit_file(&syntax);
    Ok(finder.problems)
}

struct ViewText<'a> {
    file: &'a Path,
    problems: Vec<String>,
}

impl ViewText<'_> {
    /// `in_code`: inside `{…}`, `(…)` or a closure, where literals are Rust values (classes,
    /// paths, keys) and only sentence-like ones are text.
    fn scan(&mut self, tokens: TokenStream, in_code: bool) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Group(group) => {
                    // A macro's arguments (`path!("/chat/:id?")`) are not text, except format!'s.
                    let macro_name = match &tokens[..i] {
                        [.., TokenTree::Ident(name), TokenTree::Punct(bang)] if bang.as_char() == '!' => {
                            Some(name.to_string())
                        }
                        _ => None,
                    };
                    if macro_name.as_deref().is_none_or(|name| name == "format") {
                        self.scan(group.stream(), true);
                    }
                }
                TokenTree::Literal(literal) => {
                    let Some(text) = string_literal(literal) else { continue };
                    if is_compared(&tokens[..i], &tokens[i + 1..]) {
                        continue;
                    }
                    let attribute = if in_code { None } else { attribute_before(&tokens[..i]) };
                    let user_facing = match (&attribute, in_code) {
                        (_, true) => is_sentence(&text),
                        // `name="…"` is user-facing only for the attributes people read.
                        (Some(name), false) => USER_FACING_ATTRIBUTES.contains(&name.as_str()) && is_prose(&text),
                        // A literal between tags is text on the page.
                        (None, false) => is_prose(&text),
                    };
                    if user_facing {
                        self.report(literal.span().start().line, attribute.as_deref(), &text);
                    }
                }
                _ => {}
            }
        }
    }

    fn report(&mut self, line: usize, attribute: Option<&str>, text: &str) {
        let place = attribute.map(|a| format!(" ({a}=)")).unwrap_or_default();
        self.problems.push(format!("{}:{line}: text outside the catalogue{place}: {text:?}", self.file.display()));
    }
}

impl<'ast> Visit<'ast> for ViewText<'_> {
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if mac.path.is_ident("view") {
            self.scan(mac.tokens.clone(), false);
        } else if mac.path.is_ident("format") {
            self.scan(mac.tokens.clone(), true);
        }
        syn::visit::visit_macro(self, mac);
    }

    /// Sentences in code (`info.set(Some("A new code is on its way.".into()))`).
    fn visit_lit_str(&mut self, literal: &'ast syn::LitStr) {
        let text = literal.value();
        if is_sentence(&text) {
            self.report(literal.span().start().line, None, &text);
        }
    }

    /// Doc comments and attributes are for developers.
    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}

    /// Comparisons (`ev.key() == "Escape"`) and patterns (`"ArrowDown" =>`) are not shown.
    fn visit_expr_binary(&mut self, node: &'ast syn::ExprBinary) {
        if matches!(node.op, syn::BinOp::Eq(_) | syn::BinOp::Ne(_)) {
            for side in [&*node.left, &*node.right] {
                if !matches!(side, syn::Expr::Lit(_)) {
                    self.visit_expr(side);
                }
            }
            return;
        }
        syn::visit::visit_expr_binary(self, node);
    }

    fn visit_pat(&mut self, _: &'ast syn::Pat) {}

    /// A function documented as "(not translated: why)" holds text that is the same in every
    /// language, such as each language's own name.
    fn visit_item_fn(&mut self, node: &'ast syn::ItemFn) {
        let untranslated = node.attrs.iter().any(|attr| {
            attr.path().is_ident("doc")
                && matches!(&attr.meta, syn::Meta::NameValue(nv) if matches!(&nv.value,
                    syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(doc), .. }) if doc.value().contains("not translated")))
        });
        if !untranslated {
            syn::visit::visit_item_fn(self, node);
        }
    }
}

/// A literal in code that reads as text for people: it starts with a capital letter followed by
/// a lower-case one (`"Saving…"`, `"Sign in"`), once `{placeholders}` are set aside. Classes,
/// paths, codes (`"NETWORK_ERROR"`) and keys do not.
fn is_sentence(text: &str) -> bool {
    let mut outside = String::new();
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    let mut letters = outside.trim_start().chars();
    matches!((letters.next(), letters.next()), (Some(a), Some(b)) if a.is_uppercase() && b.is_lowercase())
}

/// `ev.key() == "Enter"`: a literal in a comparison is a value, not text.
fn is_compared(before: &[TokenTree], after: &[TokenTree]) -> bool {
    let is = |token: Option<&TokenTree>, c: char| matches!(token, Some(TokenTree::Punct(p)) if p.as_char() == c);
    let n = before.len();
    let compared_before =
        n >= 2 && is(before.get(n - 1), '=') && (is(before.get(n - 2), '=') || is(before.get(n - 2), '!'));
    let compared_after = (is(after.first(), '=') || is(after.first(), '!')) && is(after.get(1), '=');
    compared_before || compared_after
}

/// The attribute a literal is the value of: `aria-label="…"` gives `aria-label`; `None` when the
/// literal is not after `=` (text between tags), or is inside an expression block.
fn attribute_before(before: &[TokenTree]) -> Option<String> {
    let [name_parts @ .., TokenTree::Punct(eq)] = before else { return None };
    if eq.as_char() != '=' {
        return None;
    }
    // Attribute names are idents joined by `-` or `:` (`aria-label`, `attr:title`).
    let mut name = Vec::new();
    for token in name_parts.iter().rev() {
        match token {
            TokenTree::Ident(ident) => name.push(ident.to_string()),
            TokenTree::Punct(p) if matches!(p.as_char(), '-' | ':') => name.push(p.as_char().to_string()),
            _ => break,
        }
    }
    name.reverse();
    let name = name.concat();
    let name = name.strip_prefix("attr:").unwrap_or(&name).to_string();
    Some(name)
}

fn string_literal(literal: &proc_macro2::Literal) -> Option<String> {
    match syn::Lit::new(literal.clone()) {
        syn::Lit::Str(s) => Some(s.value()),
        _ => None,
    }
}

/// `Mail { subject: …, body: … }` whose subject or body is written in code (a string literal or
/// a `format!` of one) instead of coming from the catalogue.
fn mail_problems(dir: &Path) -> Result<Vec<String>> {
    struct Mails<'a> {
        file: &'a Path,
        problems: Vec<String>,
    }
    impl<'ast> Visit<'ast> for Mails<'_> {
        fn visit_expr_struct(&mut self, node: &'ast syn::ExprStruct) {
            if node.path.is_ident("Mail") {
                for field in &node.fields {
                    let syn::Member::Named(name) = &field.member else { continue };
                    if name != "subject" && name != "body" {
                        continue;
                    }
                    if let Some(text) = written_text(&field.expr) {
                        let line = name.span().start().line;
                        self.problems
                            .push(format!("{}:{line}: mail {name} written in code: {text:?}", self.file.display()));
                    }
                }
            }
            syn::visit::visit_expr_struct(self, node);
        }
    }
    let mut problems = Vec::new();
    for file in rust_files(dir)? {
        let source = std::fs::read_to_string(&file)?;
        let syntax = syn::parse_file(&source).with_context(|| format!("parsing {}", file.display()))?;
        let mut mails = Mails { file: &file, problems: Vec::new() };
        mails.visit_file(&syntax);
        problems.extend(mails.problems);
    }
    Ok(problems)
}

/// The prose of an expression that is a string literal, `"…".into()` or `format!("…", …)`.
fn written_text(expr: &syn::Expr) -> Option<String> {
    match expr {
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value()).filter(|t| is_prose(t)),
        syn::Expr::MethodCall(call) => written_text(&call.receiver),
        syn::Expr::Macro(mac) if mac.mac.path.is_ident("format") => {
            let first = mac.mac.tokens.clone().into_iter().next()?;
            let TokenTree::Literal(literal) = first else { return None };
            string_literal(&literal).filter(|t| is_prose(t))
        }
        _ => None,
    }
}

/// Physical directions in CSS, which do not mirror for right-to-left languages.
fn css_problems(file: &Path) -> Result<Vec<String>> {
    const PHYSICAL: &[&str] = &[
        "margin-left",
        "margin-right",
        "padding-left",
        "padding-right",
        "border-left",
        "border-right",
        "border-left-color",
        "border-right-color",
        "border-left-width",
        "border-right-width",
        "border-left-style",
        "border-right-style",
        "left",
        "right",
        "text-align: left",
        "text-align: right",
        "float: left",
        "float: right",
        "border-top-left-radius",
        "border-top-right-radius",
        "border-bottom-left-radius",
        "border-bottom-right-radius",
    ];
    let text = std::fs::read_to_string(file)?;
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.contains("/* physical:") {
            continue;
        }
        let code = line.split("/*").next().unwrap_or(line);
        // One-line rules hold several declarations: `.x { left: 0; margin-right: 1rem; }`.
        let declarations = code.rsplit('{').next().unwrap_or(code).split(';').map(str::trim);
        let found = declarations.into_iter().find_map(|declaration| {
            PHYSICAL.iter().find(|physical| {
                if physical.contains(':') {
                    declaration.replace(": ", ":").contains(&physical.replace(": ", ":"))
                } else {
                    // A declaration of the property itself (`left: 0`, `margin-left: 1rem`), not
                    // `inset-inline-start` or a selector that happens to contain the word.
                    declaration.strip_prefix(*physical).is_some_and(|rest| rest.trim_start().starts_with(':'))
                }
            })
        });
        if let Some(physical) = found {
            problems.push(format!(
                "{}:{}: physical `{physical}` (use the logical property, or mark `/* physical: why */`)",
                file.display(),
                index + 1
            ));
        }
    }
    Ok(problems)
}

fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    files_with_extension(dir, "rs")
}

fn files_with_extension(dir: &Path, extension: &str) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == extension) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}
