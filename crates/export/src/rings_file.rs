//! `rings.jsonl`: one ring per line with its nested evidence (docs/rings.md). Each line carries
//! `schema_version`, since the next night's run reads this file back for ring lineage.

use crate::{ExportError, read_text};
use ringscope_rings::{PreviousRing, RingRecord};
use std::path::Path;

/// The layout of a `rings.jsonl` line that this build writes and reads. Lines without the field
/// were written before it existed and have the layout of version 1.
pub const RINGS_SCHEMA_VERSION: u32 = 1;

/// One ring as a `rings.jsonl` line (and `GET /v1/rings/{id}`) carries it: the record with
/// `schema_version` first.
#[derive(serde::Serialize)]
pub struct RingLine<'a> {
    schema_version: u32,
    #[serde(flatten)]
    ring: &'a RingRecord,
}

impl<'a> RingLine<'a> {
    /// The line of `ring` in this build's version.
    pub fn new(ring: &'a RingRecord) -> Self {
        RingLine {
            schema_version: RINGS_SCHEMA_VERSION,
            ring,
        }
    }
}

/// The file's text: one JSON object per ring, in the order given.
pub fn rings_jsonl(records: &[RingRecord]) -> Result<String, ExportError> {
    let mut out = String::new();
    for ring in records {
        let json =
            serde_json::to_string(&RingLine::new(ring)).map_err(|e| ExportError::Encode {
                what: format!("ring {}", ring.id),
                message: e.to_string(),
            })?;
        out.push_str(&json);
        out.push('\n');
    }
    Ok(out)
}

/// Each non-empty line of `text` (the contents of `path`) as JSON, with its version checked.
fn lines(text: &str, path: &Path) -> Result<Vec<(usize, serde_json::Value)>, ExportError> {
    let bad = |line: usize, message: String| ExportError::BadFile {
        file: path.to_path_buf(),
        line,
        message,
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let mut v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| bad(i + 1, e.to_string()))?;
            let version = match v.as_object_mut().map(|o| o.remove("schema_version")) {
                None => return Err(bad(i + 1, "not a JSON object".into())),
                Some(None) => RINGS_SCHEMA_VERSION,
                Some(Some(n)) => n
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad(i + 1, "schema_version is not a number".into()))?,
            };
            if version != RINGS_SCHEMA_VERSION {
                return Err(bad(
                    i + 1,
                    format!(
                        "schema_version {version}, but this build reads version {RINGS_SCHEMA_VERSION}"
                    ),
                ));
            }
            Ok((i + 1, v))
        })
        .collect()
}

/// Every ring of a `rings.jsonl`, in file order.
pub fn read_rings(path: &Path) -> Result<Vec<RingRecord>, ExportError> {
    parse_rings(&read_text(path)?, path)
}

/// The rings of a `rings.jsonl` text, as [`read_rings`] reads them from the file. serde_json's
/// default float parsing can differ from the written value in the last digit, so a page built
/// from a run's own text is the page `ringscope report` rebuilds from the file.
pub fn parse_rings(text: &str, path: &Path) -> Result<Vec<RingRecord>, ExportError> {
    lines(text, path)?
        .into_iter()
        .map(|(line, v)| {
            serde_json::from_value(v).map_err(|e| ExportError::BadFile {
                file: path.to_path_buf(),
                line,
                message: e.to_string(),
            })
        })
        .collect()
}

/// The IDs and member accounts of an earlier run's `rings.jsonl`: all that ring lineage needs,
/// so a file from an older build with other evidence fields still links the rings.
pub fn read_previous_rings(path: &Path) -> Result<Vec<PreviousRing>, ExportError> {
    let bad = |line: usize, message: &str| ExportError::BadFile {
        file: path.to_path_buf(),
        line,
        message: message.to_string(),
    };
    lines(&read_text(path)?, path)?
        .into_iter()
        .map(|(line, v)| {
            let id = v["id"]
                .as_str()
                .ok_or_else(|| bad(line, "no string field 'id'"))?;
            let members = v["evidence"]["members"]
                .as_array()
                .ok_or_else(|| bad(line, "no array 'evidence.members'"))?
                .iter()
                .map(|m| {
                    m["account"]
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad(line, "a member without 'account'"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(PreviousRing {
                id: id.to_string(),
                members,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rings.jsonl");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn lineage_reads_versioned_and_unversioned_lines_and_refuses_a_newer_version() {
        let (_d, path) = write(concat!(
            r#"{"schema_version":1,"id":"r1","evidence":{"members":[{"account":"a"},{"account":"b"}]}}"#,
            "\n\n",
            r#"{"id":"r2","evidence":{"members":[{"account":"c"}]}}"#,
            "\n"
        ));
        let rings = read_previous_rings(&path).unwrap();
        assert_eq!(rings.len(), 2);
        assert_eq!(rings[0].members, vec!["a", "b"]);
        assert_eq!(rings[1].id, "r2");

        let (_d, path) = write(r#"{"schema_version":2,"id":"r1","evidence":{"members":[]}}"#);
        let err = read_previous_rings(&path).unwrap_err().to_string();
        assert!(
            err.contains("rings.jsonl") && err.contains("line 1"),
            "{err}"
        );
        assert!(err.contains("schema_version 2"), "{err}");

        let (_d, path) = write("{\"id\":\"r1\"}\n");
        let err = read_previous_rings(&path).unwrap_err().to_string();
        assert!(err.contains("evidence.members"), "{err}");
    }
}
