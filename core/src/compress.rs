//! Compressed input read transparently: gzip and zstd, recognized by their
//! magic bytes whatever the file is called (feature `compression`).

use std::io::{self, BufRead, BufReader, Read};

/// The first bytes of a gzip stream.
pub const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
/// The first bytes of a zstd frame.
pub const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// `rdr` decompressed when it starts with gzip or zstd magic bytes, as it
/// is otherwise. Concatenated gzip members (rotated logs joined with
/// `cat`) are read as one stream.
///
/// ```
/// use std::io::{Read, Write};
///
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
/// gz.write_all(b"SSN 219-09-9999")?;
/// let packed = gz.finish()?;
/// let mut text = String::new();
/// phisafe::compress::decompressed(std::io::Cursor::new(packed))?.read_to_string(&mut text)?;
/// assert_eq!(text, "SSN 219-09-9999");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn decompressed<R: Read + Send + 'static>(
    rdr: R,
) -> io::Result<Box<dyn Read + Send>> {
    let mut buf = BufReader::with_capacity(64 << 10, rdr);
    let head = buf.fill_buf()?;
    Ok(if head.starts_with(GZIP_MAGIC) {
        Box::new(flate2::bufread::MultiGzDecoder::new(buf))
    } else if head.starts_with(ZSTD_MAGIC) {
        Box::new(zstd::Decoder::with_buffer(buf)?)
    } else {
        Box::new(buf)
    })
}
