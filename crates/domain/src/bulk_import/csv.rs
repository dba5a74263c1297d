//! Reading a CSV file as spreadsheets write it: a byte-order mark, `;` instead of `,` (Excel in
//! locales whose decimal separator is a comma), CRLF line ends, quoted fields with `""` inside,
//! and blank rows at the end (or anywhere) which are skipped but keep the numbering.

/// One record of the file with the row number a spreadsheet shows for it (the header is row 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub row: usize,
    pub fields: Vec<String>,
}

/// Splits the text into records. The separator is the one the header line uses more of
/// (`;` or `,`), outside quotes.
pub fn records(text: &str) -> Vec<Record> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let separator = separator_of(text.lines().next().unwrap_or(""));
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut row = 1;
    let mut chars = text.chars().peekable();
    let mut finish = |fields: &mut Vec<String>, row: &mut usize| {
        let record = std::mem::take(fields);
        if record.iter().any(|f: &String| !f.trim().is_empty()) {
            out.push(Record {
                row: *row,
                fields: record,
            });
        }
        *row += 1;
    };
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' if in_quotes => in_quotes = false,
            '"' if field.trim().is_empty() => {
                field.clear();
                in_quotes = true;
            }
            c if c == separator && !in_quotes => fields.push(std::mem::take(&mut field)),
            '\r' if !in_quotes && chars.peek() == Some(&'\n') => {}
            '\n' | '\r' if !in_quotes => {
                fields.push(std::mem::take(&mut field));
                finish(&mut fields, &mut row);
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        finish(&mut fields, &mut row);
    }
    out
}

fn separator_of(header: &str) -> char {
    let mut in_quotes = false;
    let (mut commas, mut semicolons) = (0, 0);
    for c in header.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => commas += 1,
            ';' if !in_quotes => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { ';' } else { ',' }
}

/// A number as a spreadsheet may have rewritten it: `1.1E+10` (scientific notation) becomes
/// `11000000000`; anything else is returned trimmed. A leading `+` lost by the spreadsheet needs
/// nothing here: phone numbers are read with or without it.
pub fn spreadsheet_number(raw: &str) -> String {
    let s = raw.trim();
    expand_scientific(s).unwrap_or_else(|| s.to_owned())
}

fn expand_scientific(s: &str) -> Option<String> {
    let (mantissa, exponent) = s.split_once(['E', 'e'])?;
    let exponent: usize = exponent
        .strip_prefix('+')
        .unwrap_or(exponent)
        .parse()
        .ok()?;
    let (whole, fraction) = mantissa.split_once(['.', ',']).unwrap_or((mantissa, ""));
    let all_digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() > exponent
    {
        return None;
    }
    let mut digits = format!("{whole}{fraction}");
    digits.extend(std::iter::repeat_n('0', exponent - fraction.len()));
    Some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<(usize, Vec<&str>)> {
        let recs = records(text);
        recs.iter()
            .map(|r| (r.row, r.fields.iter().map(|f| leak(f)).collect()))
            .collect()
    }

    fn leak(s: &str) -> &'static str {
        Box::leak(s.to_owned().into_boxed_str())
    }

    #[test]
    fn reads_commas_semicolons_bom_and_crlf() {
        assert_eq!(
            fields("\u{feff}a,b\r\n1,2\r\n"),
            vec![(1, vec!["a", "b"]), (2, vec!["1", "2"])]
        );
        assert_eq!(
            fields("a;b\n1,5;2\n"),
            vec![(1, vec!["a", "b"]), (2, vec!["1,5", "2"])]
        );
    }

    #[test]
    fn quoted_fields_keep_separators_quotes_and_newlines() {
        assert_eq!(
            fields("a,b\n\"x, \"\"y\"\"\",\"two\nlines\"\n3,4"),
            vec![
                (1, vec!["a", "b"]),
                (2, vec!["x, \"y\"", "two\nlines"]),
                (3, vec!["3", "4"])
            ]
        );
    }

    #[test]
    fn blank_rows_are_skipped_but_counted() {
        assert_eq!(
            fields("a,b\n,\n1,2\n \t,\n,,\n\n"),
            vec![(1, vec!["a", "b"]), (3, vec!["1", "2"])]
        );
    }

    #[test]
    fn scientific_notation_is_expanded() {
        assert_eq!(spreadsheet_number("1.1E+10"), "11000000000");
        assert_eq!(spreadsheet_number("1,2345E+4"), "12345");
        assert_eq!(spreadsheet_number("4.25E2"), "425");
        assert_eq!(spreadsheet_number(" 12065550100 "), "12065550100");
        assert_eq!(spreadsheet_number("1.234E+2"), "1.234E+2");
        assert_eq!(spreadsheet_number("E+5"), "E+5");
    }
}
