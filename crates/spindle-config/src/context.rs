//! What validation needs besides the raw config: where paths start, the environment, where
//! errors point, and the values every application takes from the top level.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

use crate::config::AppDefaults;
use crate::envfile::EnvVars;
use crate::error::Reporter;
use crate::warning::Warning;

/// What validation needs besides the raw config.
#[derive(Clone, Copy)]
pub(crate) struct Context<'a> {
    /// Directory relative paths start from.
    pub(crate) root: &'a Path,
    /// The process environment.
    pub(crate) env: &'a BTreeMap<String, String>,
    /// Variables of the root `.env` file.
    pub(crate) root_dotenv: &'a EnvVars,
    pub(crate) report: Reporter<'a>,
    /// What every application takes from the top level.
    pub(crate) defaults: &'a AppDefaults,
    /// Warnings found while validating, for [`Config::warnings`](crate::Config::warnings).
    pub(crate) warnings: &'a RefCell<Vec<Warning>>,
}
