//! `--compressed`: what the client leaves encoded. reqwest decodes gzip, br and zstd itself and
//! removes their `Content-Encoding`; a response that still has one is decoded here (`deflate`)
//! or fails the URL, so that a saved file is always the decoded body, never bytes that only
//! look like it (curl saves an unknown encoding as sent; `--compressed` promises more).
//!
//! `deflate` comes in two forms: zlib-wrapped, as RFC 9110 says, and raw deflate, as some
//! servers send it. The first two bytes tell them apart (a zlib header is never the start of
//! a valid raw stream), which is what curl's fallback from zlib to raw amounts to. Output
//! comes in pieces of at most [`PIECE`] bytes, so `--max-size` stops a deflate bomb after one
//! piece too many, whatever one network chunk expands to.
use flate2::{Decompress, FlushDecompress, Status};
use reqwest::header::{HeaderMap, CONTENT_ENCODING};

/// The largest piece of decoded output handed out at once.
pub const PIECE: usize = 64 * 1024;

/// What to do with a response's body under `--compressed`.
pub enum Decoding {
    /// Nothing: not encoded, or already decoded by the client.
    None,
    /// Decode `deflate` here.
    Deflate(Inflate),
}

/// How the body of a response is to be decoded; an error (one line) for an encoding that
/// cannot be. Without `--compressed` nothing is decoded, as curl does.
pub fn decoding(compressed: bool, headers: &HeaderMap) -> Result<Decoding, String> {
    if !compressed {
        return Ok(Decoding::None);
    }
    let Some(value) = headers.get(CONTENT_ENCODING) else {
        return Ok(Decoding::None);
    };
    let coding = String::from_utf8_lossy(value.as_bytes()).trim().to_string();
    if coding.is_empty() || coding.eq_ignore_ascii_case("identity") {
        Ok(Decoding::None)
    } else if coding.eq_ignore_ascii_case("deflate") {
        Ok(Decoding::Deflate(Inflate::new()))
    } else {
        let shown = crate::helpers::shown::cut(coding);
        Err(format!(
            "cannot decode the body: Content-Encoding '{shown}' is none of gzip, deflate, br \
             and zstd (those --compressed asks for); nothing saved"
        ))
    }
}

/// A streaming `deflate` decoder, zlib-wrapped or raw.
pub struct Inflate {
    /// Made once the first two bytes have said which form it is.
    z: Option<Decompress>,
    /// The first bytes, until there are two.
    head: Vec<u8>,
    /// The piece handed out last.
    out: Vec<u8>,
    ended: bool,
}

impl Inflate {
    pub fn new() -> Inflate {
        Inflate {
            z: None,
            head: Vec::with_capacity(2),
            out: Vec::with_capacity(PIECE),
            ended: false,
        }
    }

    /// The next piece of output from `input` (whose start is consumed as far as it was
    /// used); `None` when `input` is used up and nothing more comes out of it. Bytes after the
    /// end of the stream are ignored, as by curl.
    pub fn next<'a>(&'a mut self, input: &mut &[u8]) -> Result<Option<&'a [u8]>, String> {
        self.out.clear();
        if self.ended {
            *input = &[];
            return Ok(None);
        }
        if self.z.is_none() {
            let take = (2 - self.head.len()).min(input.len());
            self.head.extend_from_slice(&input[..take]);
            *input = &input[take..];
            if self.head.len() < 2 {
                return Ok(None);
            }
            self.z = Some(Decompress::new(zlib_header(self.head[0], self.head[1])));
            let head = std::mem::take(&mut self.head);
            let mut rest = &head[..];
            self.run(&mut rest)?;
            self.head = head;
        }
        self.run(input)?;
        Ok((!self.out.is_empty()).then_some(&self.out[..]))
    }

    /// After the last byte of the body: an error if the stream did not end (a cut body is
    /// not the file). Call [`Inflate::next`] with no input first, until it gives `None`.
    pub fn finish(&self) -> Result<(), String> {
        let started = self.z.is_some() || !self.head.is_empty();
        if started && !self.ended {
            return Err(
                "cannot decode the deflate body: it ends before the deflate stream does \
                 (corrupt or cut); nothing saved"
                    .to_string(),
            );
        }
        Ok(())
    }

    /// Decodes from `input` until the piece is full, the stream ends, or nothing moves.
    fn run(&mut self, input: &mut &[u8]) -> Result<(), String> {
        let Some(z) = self.z.as_mut() else {
            return Ok(());
        };
        while !self.ended && self.out.len() < PIECE {
            let (before_in, before_out) = (z.total_in(), z.total_out());
            // Writes into the spare capacity only: at most PIECE bytes in all.
            let status = z
                .decompress_vec(input, &mut self.out, FlushDecompress::None)
                .map_err(|e| {
                    format!("cannot decode the deflate body: it is corrupt ({e}); nothing saved")
                })?;
            let used = usize::try_from(z.total_in() - before_in).unwrap_or(input.len());
            *input = &input[used.min(input.len())..];
            match status {
                Status::StreamEnd => {
                    self.ended = true;
                    *input = &[];
                }
                _ if used == 0 && z.total_out() == before_out => break,
                _ => {}
            }
        }
        Ok(())
    }
}

/// Whether two bytes are a zlib header (RFC 1950: method 8, a window of at most 32 KiB, and
/// a check that makes them a multiple of 31). A raw deflate stream cannot start so: its
/// first bits would make a stored block whose padding bits are not zero.
fn zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn decode_in_chunks(encoded: &[u8], chunk: usize) -> Result<Vec<u8>, String> {
        let mut d = Inflate::new();
        let mut out = Vec::new();
        for mut input in encoded.chunks(chunk) {
            while let Some(piece) = d.next(&mut input)? {
                assert!(piece.len() <= PIECE);
                out.extend_from_slice(piece);
            }
        }
        while let Some(piece) = d.next(&mut &[][..])? {
            out.extend_from_slice(piece);
        }
        d.finish()?;
        Ok(out)
    }

    fn zlib(plain: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(plain).unwrap();
        e.finish().unwrap()
    }

    fn raw(plain: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(plain).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn both_forms_in_any_chunking_and_bombs_in_small_pieces() {
        let plain: Vec<u8> = (0..300_000u32).map(|i| (i % 7 + i / 1000) as u8).collect();
        for encoded in [zlib(&plain), raw(&plain), raw(b""), zlib(b"")] {
            for chunk in [1, 2, 3, 1000, 1 << 20] {
                let want = if encoded.len() < 20 {
                    &b""[..]
                } else {
                    &plain[..]
                };
                assert_eq!(decode_in_chunks(&encoded, chunk).unwrap(), want);
            }
        }
        // 10 MiB of zeros in a few dozen KiB: handed out 64 KiB at a time.
        let bomb = raw(&vec![0; 10 << 20]);
        assert!(bomb.len() < 200_000, "{}", bomb.len());
        assert_eq!(decode_in_chunks(&bomb, 1 << 20).unwrap().len(), 10 << 20);
    }

    #[test]
    fn corrupt_and_cut_streams_are_errors() {
        let plain = b"some text, some text, some text".repeat(100);
        let mut bad = zlib(&plain);
        let n = bad.len();
        bad[n - 2] ^= 0xff; // the Adler-32 check
        assert!(decode_in_chunks(&bad, 7).unwrap_err().contains("corrupt"));
        let good = raw(&plain);
        assert!(decode_in_chunks(&good[..good.len() / 2], 7)
            .unwrap_err()
            .contains("ends before"));
        assert!(
            decode_in_chunks(b"\x78", 1).is_err(),
            "one byte of a header"
        );
        // An empty body is no stream, not a cut one.
        assert_eq!(decode_in_chunks(b"", 1).unwrap(), b"");
    }

    #[test]
    fn which_encodings() {
        let mut h = HeaderMap::new();
        assert!(matches!(decoding(true, &h), Ok(Decoding::None)));
        h.insert(CONTENT_ENCODING, "x-custom".parse().unwrap());
        assert!(matches!(decoding(false, &h), Ok(Decoding::None)));
        let e = decoding(true, &h).err().unwrap();
        assert!(e.contains("'x-custom'"), "{e}");
        h.insert(CONTENT_ENCODING, "Deflate".parse().unwrap());
        assert!(matches!(decoding(true, &h), Ok(Decoding::Deflate(_))));
        h.insert(CONTENT_ENCODING, "identity".parse().unwrap());
        assert!(matches!(decoding(true, &h), Ok(Decoding::None)));
        assert!(zlib_header(0x78, 0x9c) && zlib_header(0x78, 0x01) && zlib_header(0x78, 0xda));
        assert!(!zlib_header(0x78, 0x00) && !zlib_header(0x00, 0x00) && !zlib_header(0x0b, 0x00));
    }
}
