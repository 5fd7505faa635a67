//! `scores.csv`: one row per scored node, highest score first (`kind,id,score,flagged,label`;
//! the label is empty where unknown).

use crate::{ExportError, read_text};
use std::path::Path;

/// The header line of `scores.csv`.
pub const SCORES_HEADER: &str = "kind,id,score,flagged,label";

/// One scored node.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreRow {
    /// Node kind (`account`, `seller`, ...).
    pub kind: String,
    /// The node's ID in the input.
    pub id: String,
    /// The model's score in [0, 1].
    pub score: f32,
    /// Ground truth: 1 fraud, 0 benign, -1 unknown.
    pub label: i8,
}

/// A score as `scores.csv` carries it (six decimals), read back as a number. Pages built from
/// a run in memory use these values, so they equal pages rebuilt from the files.
pub fn as_written(score: f32) -> f64 {
    format!("{score:.6}").parse().unwrap_or(f64::NAN)
}

/// The CSV text of `rows`; `flagged` is 1 where the score reaches `threshold`.
pub fn scores_csv(rows: &[ScoreRow], threshold: f32) -> String {
    let mut out = String::with_capacity(32 * (rows.len() + 1));
    out.push_str(SCORES_HEADER);
    out.push('\n');
    for r in rows {
        let flagged = u8::from(r.score >= threshold);
        let id = ringscope_ingest::csv_field(&r.id);
        // An unknown label is an empty field, not a value a reader could take for a class.
        let label = if r.label < 0 {
            String::new()
        } else {
            r.label.to_string()
        };
        out.push_str(&format!(
            "{},{id},{:.6},{flagged},{label}\n",
            r.kind, r.score
        ));
    }
    out
}

/// The rows of a `scores.csv`, in file order. A malformed row is an error naming the file, the
/// row (counting the header as row 1) and the column.
pub fn read_scores(path: &Path) -> Result<Vec<ScoreRow>, ExportError> {
    let text = read_text(path)?;
    let bad = |line: usize, message: String| ExportError::BadFile {
        file: path.to_path_buf(),
        line,
        message,
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| bad(1, format!("no '{name}' column in the header")))
    };
    let (kind, id, score, label) = (
        column("kind")?,
        column("id")?,
        column("score")?,
        column("label")?,
    );
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = record.map_err(|e| bad(row, e.to_string()))?;
        let field = |c: usize, name: &str| {
            record
                .get(c)
                .ok_or_else(|| bad(row, format!("column '{name}': missing")))
        };
        let number = |c: usize, name: &str| -> Result<f32, ExportError> {
            let v = field(c, name)?;
            v.parse()
                .map_err(|_| bad(row, format!("column '{name}': '{v}' is not a number")))
        };
        let label_text = field(label, "label")?;
        // Files written before unknown labels were left empty hold -1.
        let label: i8 = match label_text {
            "" | "-1" => -1,
            "0" => 0,
            "1" => 1,
            other => {
                return Err(bad(
                    row,
                    format!("column 'label': '{other}' is not 0, 1 or empty (unknown)"),
                ));
            }
        };
        rows.push(ScoreRow {
            kind: field(kind, "kind")?.to_string(),
            id: field(id, "id")?.to_string(),
            score: number(score, "score")?,
            label,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_round_trip_through_the_file_with_quoted_ids() {
        let rows = vec![
            ScoreRow {
                kind: "account".into(),
                id: "a,\"1\"".into(),
                score: 0.75,
                label: 1,
            },
            ScoreRow {
                kind: "account".into(),
                id: "b".into(),
                score: 0.125,
                label: -1,
            },
        ];
        let text = scores_csv(&rows, 0.5);
        assert_eq!(
            text,
            "kind,id,score,flagged,label\naccount,\"a,\"\"1\"\"\",0.750000,1,1\naccount,b,0.125000,0,\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scores.csv");
        std::fs::write(&path, &text).unwrap();
        assert_eq!(read_scores(&path).unwrap(), rows);
    }

    #[test]
    fn a_bad_score_names_the_file_row_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scores.csv");
        std::fs::write(
            &path,
            "kind,id,score,flagged,label\naccount,a,0.5,1,0\naccount,b,high,1,0\n",
        )
        .unwrap();
        let err = read_scores(&path).unwrap_err().to_string();
        assert!(err.contains("scores.csv"), "{err}");
        assert!(err.contains("line 3") && err.contains("'score'"), "{err}");
        // An older file's -1 still reads as unknown.
        std::fs::write(&path, "kind,id,score,flagged,label\naccount,a,0.5,1,-1\n").unwrap();
        assert_eq!(read_scores(&path).unwrap()[0].label, -1);
        std::fs::write(&path, "kind,id,score,flagged,label\naccount,a,0.5,1,1.5\n").unwrap();
        let err = read_scores(&path).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("'label'"), "{err}");
        std::fs::write(&path, "kind,id,flagged\n").unwrap();
        let err = read_scores(&path).unwrap_err().to_string();
        assert!(err.contains("no 'score' column"), "{err}");
    }

    #[test]
    fn written_scores_read_back_as_the_six_decimal_value() {
        assert_eq!(as_written(0.123_456_78), 0.123457);
        assert_eq!(as_written(1.0), 1.0);
    }
}
