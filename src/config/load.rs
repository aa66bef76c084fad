//! Reading a file: parse the YAML strictly, then resolve it; nothing is returned unless the
//! whole file is good.

use std::path::Path;

use super::error::{yaml_error, ConfigError};
use super::raw::RawConfig;
use super::resolve::resolve;
use super::resolved::Config;

impl Config {
    /// Reads and validates a file; nothing is returned unless the whole file is good.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses config text; `path` names it in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let raw: RawConfig = serde_saphyr::from_str(text).map_err(|err| yaml_error(&file, text, &err))?;
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        resolve(raw, &file, &base_dir, path)
    }
}
