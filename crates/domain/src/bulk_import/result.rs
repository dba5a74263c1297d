//! The result file of an applied (or checked) upload: every row of the file as it was read,
//! with what became of it, so the admin can filter the failures in a spreadsheet, fix them and
//! upload just those again.

use super::columns::{COLUMNS, quote};
use super::{FileError, parse};
use std::collections::HashMap;

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowResult {
    /// The row number a spreadsheet shows (the header is row 1).
    pub row: usize,
    /// e.g. `set_up`, `invalid`.
    pub outcome: String,
    /// Every problem with the row, `Field: what to do`, joined by `; `.
    pub detail: String,
}

/// The header row of a result file: the row number, the template's columns, then the
/// outcome and its detail.
pub const ROW: &str = "Row";
pub const RESULT: &str = "Result";
pub const PROBLEMS: &str = "Problems";

/// The file's rows with their results (CRLF, as spreadsheets expect). The columns are the
/// template's, so the failed rows can be uploaded again once fixed (the extra columns are
/// left out of a new upload by deleting them).
pub fn result_csv(text: &str, results: &[RowResult]) -> Result<String, FileError> {
    let rows = parse(text)?;
    let by_row: HashMap<usize, &RowResult> = results.iter().map(|r| (r.row, r)).collect();
    let mut out = String::new();
    let header: Vec<String> = std::iter::once(ROW)
        .chain(COLUMNS.iter().map(|c| c.header()))
        .chain([RESULT, PROBLEMS])
        .map(quote)
        .collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for row in &rows {
        let result = by_row.get(&row.row);
        let cells: Vec<String> = std::iter::once(row.row.to_string())
            .chain(COLUMNS.iter().map(|c| row.get(*c).to_owned()))
            .chain([
                result.map(|r| r.outcome.clone()).unwrap_or_default(),
                result.map(|r| r.detail.clone()).unwrap_or_default(),
            ])
            .map(|v| quote(&v))
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_keeps_its_values_and_gets_its_result() {
        let file = "Teams User;SIP User;Phone Number\r\nAdeleV@contoso.example;1000;+11000\r\n\
                    AlexW@contoso.example;1001;\r\n";
        let csv = result_csv(
            file,
            &[
                RowResult {
                    row: 2,
                    outcome: "set_up".into(),
                    detail: String::new(),
                },
                RowResult {
                    row: 3,
                    outcome: "invalid".into(),
                    detail: "Phone Number: is required, e.g. +12065550100".into(),
                },
            ],
        )
        .unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("Row,Teams User,PBX Locations,"));
        assert!(lines[0].ends_with(",Result,Problems"));
        assert!(lines[1].starts_with("2,AdeleV@contoso.example,,,1000,+11000,"));
        assert!(lines[1].ends_with(",set_up,"));
        assert!(lines[2].ends_with(",invalid,\"Phone Number: is required, e.g. +12065550100\""));
        // The result file is itself a file Bulk Upload reads (the extra columns aside).
        assert!(
            parse(&csv).is_err(),
            "Row/Result/Problems are not upload columns"
        );
    }
}
