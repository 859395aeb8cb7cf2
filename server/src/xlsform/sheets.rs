//! Reading the workbook: the `survey`, `choices` and `settings` sheets as
//! rows of text cells under their header row, each row numbered as the
//! spreadsheet numbers it. Cells are streamed and bounded, so a hostile
//! workbook (a cell at row one million, a sheet of huge texts) is refused
//! rather than held in memory.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx};

use super::{Problem, Refusal};

/// The most rows a sheet may have, header included.
pub const MAX_ROWS: u32 = 2_000;

/// The most columns a sheet may have.
pub const MAX_COLUMNS: u32 = 64;

/// The most characters one cell may hold.
pub const MAX_CELL_CHARS: usize = 2_000;

/// The most bytes a workbook's files may unpack to, all together, as its
/// zip directory declares them (the unpacking stops at each file's declared
/// size): a few kilobytes of zip cannot unpack to gigabytes of XML.
pub const MAX_UNPACKED_BYTES: u64 = 32 * 1024 * 1024;

/// One sheet: its header and its rows, blank rows left out.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    /// The sheet's name as the form spells it, e.g. `survey`.
    pub name: String,
    /// The header row's cells, trimmed, by column.
    pub header: Vec<String>,
    /// The spreadsheet row number (1-based) of the header.
    pub header_row: u32,
    /// The rows under the header that hold anything.
    pub rows: Vec<Row>,
}

/// One row of a sheet.
#[derive(Debug, Clone)]
pub struct Row {
    /// The spreadsheet row number, 1-based, as shown at the left of the sheet.
    pub number: u32,
    /// The cells, trimmed, by column; missing cells are empty.
    pub cells: Vec<String>,
}

impl Sheet {
    /// The position of the column named `name` (case-insensitive), if any.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header
            .iter()
            .position(|head| head.eq_ignore_ascii_case(name))
    }
}

impl Row {
    /// The trimmed text of the cell in column `at`; empty when absent.
    pub fn cell(&self, at: Option<usize>) -> &str {
        at.and_then(|at| self.cells.get(at))
            .map_or("", String::as_str)
    }
}

/// The sheets of an XLSForm workbook that Doorstep reads.
#[derive(Debug, Clone, Default)]
pub struct Workbook {
    /// The questions.
    pub survey: Option<Sheet>,
    /// The options of the choice lists.
    pub choices: Option<Sheet>,
    /// The form's key, version and title.
    pub settings: Option<Sheet>,
}

/// Opens an .xlsx file and reads its three sheets (matched by name, case
/// aside). Problems with the file as a whole, or with a sheet too large, are
/// returned all together.
pub fn read(bytes: &[u8]) -> Result<Workbook, Vec<Problem>> {
    read_within(bytes, MAX_UNPACKED_BYTES)
}

/// [`read`], with the bound on the unpacked size given.
pub fn read_within(bytes: &[u8], max_unpacked: u64) -> Result<Workbook, Vec<Problem>> {
    let whole = |refusal| {
        vec![Problem {
            sheet: String::new(),
            row: 0,
            column: None,
            refusal,
        }]
    };
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| whole(Refusal::NotAWorkbook))?;
    // The sizes the zip directory declares; unpacking stops at each.
    let mut unpacked: u64 = 0;
    for at in 0..archive.len() {
        let file = archive
            .by_index_raw(at)
            .map_err(|_| whole(Refusal::NotAWorkbook))?;
        unpacked = unpacked.saturating_add(file.size());
    }
    if unpacked > max_unpacked {
        return Err(whole(Refusal::WorkbookTooLarge));
    }
    let mut xlsx: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|_| whole(Refusal::NotAWorkbook))?;
    let names = xlsx.sheet_names();
    let mut workbook = Workbook::default();
    let mut problems = Vec::new();
    for name in names {
        let slot = match name.to_ascii_lowercase().as_str() {
            "survey" => &mut workbook.survey,
            "choices" => &mut workbook.choices,
            "settings" => &mut workbook.settings,
            _ => continue,
        };
        match read_sheet(&mut xlsx, &name) {
            Ok(sheet) => *slot = Some(sheet),
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        Ok(workbook)
    } else {
        Err(problems)
    }
}

fn read_sheet(xlsx: &mut Xlsx<Cursor<&[u8]>>, name: &str) -> Result<Sheet, Problem> {
    let problem = |row: u32, column: Option<String>, refusal| Problem {
        sheet: name.to_owned(),
        row,
        column,
        refusal,
    };
    let mut reader = xlsx
        .worksheet_cells_reader(name)
        .map_err(|_| problem(0, None, Refusal::NotAWorkbook))?;
    let mut cells: BTreeMap<u32, BTreeMap<u32, String>> = BTreeMap::new();
    loop {
        let cell = match reader.next_cell() {
            Ok(Some(cell)) => cell,
            Ok(None) => break,
            Err(_) => return Err(problem(0, None, Refusal::NotAWorkbook)),
        };
        let (row, col) = cell.get_position();
        let number = row + 1;
        if row >= MAX_ROWS {
            return Err(problem(number, None, Refusal::TooManyRows));
        }
        if col >= MAX_COLUMNS {
            return Err(problem(
                number,
                Some(column_letters(col)),
                Refusal::TooManyColumns,
            ));
        }
        let text = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::String(text) => text.clone(),
            DataRef::SharedString(text) => (*text).to_owned(),
            DataRef::Int(n) => n.to_string(),
            // Whole numbers typed in a cell (a version, a limit) come as floats.
            DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
            DataRef::Float(f) => f.to_string(),
            DataRef::Bool(b) => b.to_string(),
            DataRef::DateTime(_)
            | DataRef::DateTimeIso(_)
            | DataRef::DurationIso(_)
            | DataRef::Error(_) => {
                return Err(problem(
                    number,
                    Some(column_letters(col)),
                    Refusal::UnreadableCell,
                ));
            }
        };
        if text.chars().count() > MAX_CELL_CHARS {
            return Err(problem(
                number,
                Some(column_letters(col)),
                Refusal::CellTooLong,
            ));
        }
        let text = text.trim();
        if !text.is_empty() {
            cells
                .entry(number)
                .or_default()
                .insert(col, text.to_owned());
        }
    }
    let mut rows = cells.into_iter().map(|(number, by_column)| {
        let width = by_column.keys().next_back().map_or(0, |last| last + 1) as usize;
        let mut cells = vec![String::new(); width];
        for (col, text) in by_column {
            if let Some(slot) = cells.get_mut(col as usize) {
                *slot = text;
            }
        }
        Row { number, cells }
    });
    let Some(header) = rows.next() else {
        return Ok(Sheet {
            name: name.to_owned(),
            ..Sheet::default()
        });
    };
    Ok(Sheet {
        name: name.to_owned(),
        header: header.cells,
        header_row: header.number,
        rows: rows.collect(),
    })
}

/// The spreadsheet's letters for a zero-based column (`0` → `A`, `26` → `AA`).
pub fn column_letters(col: u32) -> String {
    let mut letters = Vec::new();
    let mut n = col + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workbook_unpacking_past_the_bound_is_refused_before_it_is_read() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/xlsform/home_verification.xlsx"
        );
        let bytes = std::fs::read(path).unwrap_or_default();
        assert!(read(&bytes).is_ok());
        let refused = read_within(&bytes, 1_000).err().unwrap_or_default();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].refusal, Refusal::WorkbookTooLarge);
    }

    #[test]
    fn column_letters_follow_the_spreadsheet() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(63), "BL");
    }
}
