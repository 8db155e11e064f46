//! Generates the typed message catalogue (`crate::i18n`) from app/locales/<locale>.json.
//! A key missing from any language fails the build: every language is complete or it does not ship.

use std::path::PathBuf;

use leptos_i18n_parser::parse_locales::options::{Config, ParseOptions};
use leptos_i18n_parser::parse_locales::parse_locales;

/// English first: it is the reference every other catalogue is checked against.
const LOCALES: [&str; 5] = ["en", "de", "fr", "es", "ar"];

fn main() {
    println!("cargo::rerun-if-changed=locales");
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let config = Config::new(LOCALES[0])
        .and_then(|config| config.add_locales(&LOCALES[1..]))
        .expect("the locale list is valid")
        .locales_path("locales")
        // Plain-text mails and attribute values need interpolated strings, not only views.
        .parse_options(ParseOptions::new().interpolate_display(true));
    let parsed = match parse_locales(Some(manifest_dir), config) {
        Ok(parsed) => parsed,
        Err(error) => panic!("app/locales: {error}"),
    };
    let problems: Vec<String> = parsed
        .diag
        .warnings()
        .iter()
        .map(ToString::to_string)
        .chain(parsed.diag.errors().iter().map(ToString::to_string))
        .collect();
    if !problems.is_empty() {
        panic!("app/locales:\n  {}", problems.join("\n  "));
    }
    let code = match leptos_i18n_codegen::gen_code(&parsed, None, false, None, false) {
        Ok(code) => code,
        Err(error) => panic!("app/locales: {error}"),
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("i18n.rs");
    std::fs::write(&out, code.to_string()).unwrap_or_else(|error| panic!("writing {}: {error}", out.display()));
}
