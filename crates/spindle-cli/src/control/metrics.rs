//! `spindle metrics`: the Prometheus text the admin server serves, or its JSON form.

use std::io::Write;

use super::client::Endpoint;
use super::error::ControlError;

pub fn run(endpoint: &Endpoint, json: bool) -> Result<(), ControlError> {
    let path = if json {
        "/v1/metrics?format=json"
    } else {
        "/v1/metrics"
    };
    let response = endpoint.get(path)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&response.body)?;
    if !response.body.is_empty() && !response.body.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    Ok(())
}
