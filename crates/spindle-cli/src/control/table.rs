//! Plain-text tables: a header row, columns as wide as their widest cell (capped, so a
//! table fits a 100-column terminal), two spaces between columns.

/// How a column lines up its cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    /// For numbers, so their digits line up.
    Right,
}

#[derive(Debug, Clone)]
pub struct Column {
    title: &'static str,
    align: Align,
    /// Longer cells are cut, ending in `…`.
    max: usize,
}

impl Column {
    pub fn left(title: &'static str) -> Column {
        Column {
            title,
            align: Align::Left,
            max: usize::MAX,
        }
    }

    pub fn right(title: &'static str) -> Column {
        Column {
            title,
            align: Align::Right,
            max: usize::MAX,
        }
    }

    pub fn max(mut self, max: usize) -> Column {
        self.max = max.max(1);
        self
    }
}

const GAP: &str = "  ";

#[derive(Debug, Clone)]
pub struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: Vec<Column>) -> Table {
        Table {
            columns,
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are blank, extra ones are dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The header and every row, each line ending in `\n`, without trailing spaces.
    pub fn render(&self) -> String {
        let cell = |row: &[String], i: usize| -> String {
            let text = row.get(i).map(String::as_str).unwrap_or("");
            clip(text, self.columns[i].max)
        };
        let titles: Vec<String> = self.columns.iter().map(|c| c.title.to_string()).collect();
        let lines: Vec<Vec<String>> = std::iter::once(titles)
            .chain(self.rows.iter().map(|row| {
                (0..self.columns.len())
                    .map(|i| cell(row, i))
                    .collect::<Vec<_>>()
            }))
            .collect();
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                lines
                    .iter()
                    .map(|line| line[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for line in &lines {
            let mut text = String::new();
            for (i, cell) in line.iter().enumerate() {
                if i > 0 {
                    text.push_str(GAP);
                }
                let pad = widths[i] - cell.chars().count();
                match self.columns[i].align {
                    Align::Left => {
                        text.push_str(cell);
                        text.push_str(&" ".repeat(pad));
                    }
                    Align::Right => {
                        text.push_str(&" ".repeat(pad));
                        text.push_str(cell);
                    }
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

/// `text` cut to `max` characters, the last one an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let mut table = Table::new(vec![
            Column::left("APP"),
            Column::left("WORKER"),
            Column::right("IN-FLIGHT"),
            Column::left("NOTE"),
        ]);
        table.row(vec!["web".into(), "web:0".into(), "3".into(), "".into()]);
        table.row(vec!["api-long".into(), "api-long:12".into(), "1024".into()]);
        assert_eq!(
            table.render(),
            "APP       WORKER       IN-FLIGHT  NOTE\n\
             web       web:0                3\n\
             api-long  api-long:12       1024\n"
        );
    }

    #[test]
    fn long_cells_are_clipped() {
        let mut table = Table::new(vec![Column::left("ID").max(6), Column::left("X")]);
        table.row(vec!["abcdefghij".into(), "x".into()]);
        assert_eq!(table.render(), "ID      X\nabcde…  x\n");
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "ab…");
    }
}
