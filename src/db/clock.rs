//! The times schemactl writes: compact UTC stamps for file names and RFC 3339 for manifests
//! and history rows.

/// Returns the current UTC time as `YYYYMMDDTHHMMSSZ`, for file names.
pub fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    now.format(&format)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// Returns the current UTC time in RFC 3339, for manifests and history rows.
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}
