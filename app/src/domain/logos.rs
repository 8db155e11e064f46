//! Logos: sanitised SVG files kept under `<data dir>/logos/`, served by the server as images.

use std::path::{Path, PathBuf};

use super::integrations::{ToolError, ToolResult};
use super::svg;

/// Cleans `svg`, stores it as `filename` (made safe) and returns the stored name and size.
pub async fn save(dir: &Path, filename: &str, svg_text: &str) -> ToolResult<(String, usize)> {
    let name = svg::logo_file_name(filename)?;
    let clean = svg::sanitize(svg_text)?;
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| ToolError::Internal(format!("creating {}: {e}", dir.display())))?;
    // Written aside, then renamed: a reader never sees half a file.
    let partial = dir.join(format!(".{name}.partial"));
    tokio::fs::write(&partial, clean.as_bytes())
        .await
        .map_err(|e| ToolError::Internal(format!("writing {}: {e}", partial.display())))?;
    tokio::fs::rename(&partial, dir.join(&name))
        .await
        .map_err(|e| ToolError::Internal(format!("storing {name}: {e}")))?;
    Ok((name, clean.len()))
}

/// The stored file for a requested name, when the name is one `save` could have made.
pub fn path_of(dir: &Path, requested: &str) -> Option<PathBuf> {
    let name = svg::logo_file_name(requested).ok()?;
    (name == requested).then(|| dir.join(name))
}
