//! Structural checks on a Parquet file, made before polars reads it.
//!
//! polars' reader trusts the footer and the page headers. Fuzzing found four ways that goes
//! wrong beyond an error (docs/fuzzing.md):
//! - a column chunk's byte range past the end of the file is sliced unchecked (an
//!   out-of-bounds read);
//! - a page's negative value count is cast to a length, and the validity bitmap reserves
//!   2^61 bytes: an allocation failure, which aborts the process and no `catch_unwind` catches;
//! - a list count in the footer that asks for 128 GB: another abort;
//! - counts that disagree between the footer and the pages.
//!
//! So every range, and every page header's counts and sizes, are checked here first. Only the
//! footer and the page headers are read, not the pages, so the cost is a few reads per column
//! chunk. Panics polars still has on bad page *contents* are caught by [`crate::guard`].

use polars_parquet::parquet::metadata::{ColumnChunkMetadata, FileMetadata};
use polars_parquet_format::thrift::protocol::TCompactInputProtocol;
use polars_parquet_format::{PageHeader, PageType};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

/// The most bytes a page header may take; thrift refuses to read past it.
const MAX_HEADER_BYTES: usize = 1 << 20;

/// Checks the file's footer and page headers. The error says what is wrong and where, for the
/// caller to prefix with the file's name.
pub fn check(file: &mut File) -> Result<(), String> {
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    check_footer_lists(file, len)?;
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let footer = polars_parquet::parquet::read::read_metadata(file)
        .map_err(|e| format!("corrupt Parquet footer: {e}"))?;
    check_ranges(&footer, len)?;
    let mut reader = BufReader::new(file);
    for (g, group) in footer.row_groups.iter().enumerate() {
        for (c, chunk) in group.parquet_columns().iter().enumerate() {
            let flat = chunk.descriptor().descriptor.max_rep_level == 0;
            let values = chunk.num_values();
            if values < 0 || (flat && values as u64 != group.num_rows() as u64) {
                return Err(format!(
                    "corrupt Parquet: row group {g} column {c} holds {values} values in {} rows",
                    group.num_rows()
                ));
            }
            check_pages(&mut reader, chunk)
                .map_err(|why| format!("corrupt Parquet: row group {g} column {c}: {why}"))?;
        }
    }
    Ok(())
}

/// Decodes the footer with a thrift reader that bounds what its lists may allocate, before
/// polars' own decoder reserves whatever count a list header gives (found by fuzzing: a
/// corrupt count asked for 128 GB, and the failed allocation aborted the process).
///
/// The bound is 64 bytes of list entries per footer byte. Each entry takes at least one
/// footer byte at each of at most four levels of nesting, at 8 bytes a count, so a well-formed
/// footer stays within it; and a footer that decodes within it declares no list longer than
/// the footer allows, which is what polars' decoder then allocates for.
fn check_footer_lists(file: &mut File, len: u64) -> Result<(), String> {
    let mut tail = [0u8; 8];
    if len < 12 {
        return Err("corrupt Parquet: too short for a footer".into());
    }
    file.seek(SeekFrom::End(-8)).map_err(|e| e.to_string())?;
    file.read_exact(&mut tail).map_err(|e| e.to_string())?;
    let footer_len = u64::from(u32::from_le_bytes(tail[..4].try_into().expect("4 bytes")));
    if footer_len + 12 > len {
        return Err(format!(
            "corrupt Parquet: a {footer_len}-byte footer in a {len}-byte file"
        ));
    }
    file.seek(SeekFrom::End(-8 - footer_len as i64))
        .map_err(|e| e.to_string())?;
    let footer = BufReader::new(file.take(footer_len));
    let budget = 64 * footer_len as usize;
    polars_parquet_format::FileMetaData::read_from_in_protocol(&mut TCompactInputProtocol::new(
        footer, budget,
    ))
    .map_err(|e| format!("corrupt Parquet footer: {e} in its {footer_len} bytes"))?;
    Ok(())
}

/// Every row group's and column chunk's byte range lies inside the file.
fn check_ranges(footer: &FileMetadata, len: u64) -> Result<(), String> {
    for (i, group) in footer.row_groups.iter().enumerate() {
        let ranges = std::iter::once(group.full_byte_range()).chain(group.byte_ranges_iter());
        for range in ranges {
            if range.start > range.end || range.end > len {
                return Err(format!(
                    "corrupt Parquet: row group {i} points at bytes {}..{} of a {len}-byte file",
                    range.start, range.end
                ));
            }
        }
    }
    Ok(())
}

/// Walks the chunk's page headers: every size and count is non-negative, every page lies
/// inside the chunk, and the data pages' values add up to the chunk's.
fn check_pages(
    reader: &mut BufReader<&mut File>,
    chunk: &ColumnChunkMetadata,
) -> Result<(), String> {
    let range = chunk.byte_range();
    let mut at = range.start;
    let mut seen: i64 = 0;
    let mut page = 0usize;
    while seen < chunk.num_values() {
        if at >= range.end {
            return Err(format!(
                "its pages hold {seen} of the {} values its footer gives",
                chunk.num_values()
            ));
        }
        reader
            .seek(SeekFrom::Start(at))
            .map_err(|e| e.to_string())?;
        let mut counted = CountingReader {
            inner: &mut *reader,
            read: 0,
        };
        let header = PageHeader::read_from_in_protocol(&mut TCompactInputProtocol::new(
            &mut counted,
            MAX_HEADER_BYTES,
        ))
        .map_err(|e| format!("page {page}'s header: {e}"))?;
        let header_len = counted.read;
        let values = page_values(&header).map_err(|why| format!("page {page}: {why}"))?;
        seen = seen.saturating_add(values);
        at += header_len + header.compressed_page_size as u64;
        if at > range.end {
            return Err(format!(
                "page {page} ends at byte {at}, past the chunk's end at {}",
                range.end
            ));
        }
        page += 1;
    }
    if seen != chunk.num_values() {
        return Err(format!(
            "its pages hold {seen} values, its footer gives {}",
            chunk.num_values()
        ));
    }
    Ok(())
}

/// The data values a page adds to its chunk (0 for a dictionary page), once its counts and
/// sizes are known to be sane.
fn page_values(header: &PageHeader) -> Result<i64, String> {
    let (compressed, uncompressed) = (header.compressed_page_size, header.uncompressed_page_size);
    if compressed < 0 || uncompressed < 0 {
        return Err(format!(
            "a negative size (compressed {compressed}, uncompressed {uncompressed})"
        ));
    }
    let negative = |what: &str, n: i32| format!("a negative {what} ({n})");
    match header.type_ {
        PageType::DATA_PAGE => {
            let h = header
                .data_page_header
                .as_ref()
                .ok_or("a data page without its header")?;
            if h.num_values < 0 {
                return Err(negative("value count", h.num_values));
            }
            Ok(h.num_values.into())
        }
        PageType::DATA_PAGE_V2 => {
            let h = header
                .data_page_header_v2
                .as_ref()
                .ok_or("a v2 data page without its header")?;
            let counts = [
                ("value count", h.num_values),
                ("null count", h.num_nulls),
                ("row count", h.num_rows),
                ("definition levels' length", h.definition_levels_byte_length),
                ("repetition levels' length", h.repetition_levels_byte_length),
            ];
            if let Some((what, n)) = counts.into_iter().find(|(_, n)| *n < 0) {
                return Err(negative(what, n));
            }
            if h.num_nulls > h.num_values || h.num_rows > h.num_values {
                return Err(format!(
                    "{} nulls and {} rows in {} values",
                    h.num_nulls, h.num_rows, h.num_values
                ));
            }
            let levels = i64::from(h.definition_levels_byte_length)
                + i64::from(h.repetition_levels_byte_length);
            if levels > i64::from(compressed.min(uncompressed)) {
                return Err(format!(
                    "{levels} bytes of levels in a {compressed}-byte page"
                ));
            }
            Ok(h.num_values.into())
        }
        PageType::DICTIONARY_PAGE => {
            let h = header
                .dictionary_page_header
                .as_ref()
                .ok_or("a dictionary page without its header")?;
            if h.num_values < 0 {
                return Err(negative("dictionary size", h.num_values));
            }
            // Every dictionary entry takes at least one bit of the page (a boolean; others
            // take bytes), and the reader allocates for the count it is told.
            if i64::from(h.num_values) > 8 * i64::from(uncompressed) + 8 {
                return Err(format!(
                    "{} dictionary entries in {uncompressed} bytes",
                    h.num_values
                ));
            }
            Ok(0)
        }
        // Index pages carry no values; polars skips them.
        PageType::INDEX_PAGE => Ok(0),
        other => Err(format!("an unknown page type {}", other.0)),
    }
}

/// A reader that counts the bytes taken through it: the length of a thrift header.
struct CountingReader<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}
