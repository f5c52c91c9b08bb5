//! `--compressed`: what the client leaves encoded. reqwest decodes gzip, br and zstd itself and
//! removes their `Content-Encoding`; a response that still has one is decoded here (`deflate`,
//! and gzip under another spelling: `x-gzip`, which RFC 9110 makes the same, or `GZIP`) or
//! fails the URL, so that a saved file is always the decoded body, never bytes that only look
//! like it (curl saves an unknown encoding as sent; `--compressed` promises more).
//!
//! `deflate` comes in two forms: zlib-wrapped, as RFC 9110 says, and raw deflate, as some
//! servers send it. The first two bytes tell them apart (a zlib header is never the start of
//! a valid raw stream), which is what curl's fallback from zlib to raw amounts to. Output
//! comes in pieces of at most [`PIECE`] bytes, so `--max-size` stops a bomb after one piece
//! too many, whatever one network chunk expands to. A stream that is corrupt, or that the
//! body ends before its end, is an error: a cut body is not the file.
use std::io::Write;

use flate2::{Decompress, FlushDecompress, Status};
use reqwest::header::{HeaderMap, CONTENT_ENCODING};

/// The largest piece of decoded output handed out at once.
pub const PIECE: usize = 64 * 1024;

/// How the body of a response is to be decoded here: `None` when it is not encoded, or the
/// client has decoded it; an error (one line) for an encoding that cannot be decoded. Without
/// `--compressed` nothing is decoded, as by curl.
pub fn decoder(compressed: bool, headers: &HeaderMap) -> Result<Option<Decoder>, String> {
    if !compressed {
        return Ok(None);
    }
    let Some(value) = headers.get(CONTENT_ENCODING) else {
        return Ok(None);
    };
    let coding = String::from_utf8_lossy(value.as_bytes()).trim().to_string();
    let is = |name: &str| coding.eq_ignore_ascii_case(name);
    if coding.is_empty() || is("identity") {
        Ok(None)
    } else if is("deflate") {
        Ok(Some(Decoder::Deflate(Inflate::new())))
    } else if is("gzip") || is("x-gzip") {
        Ok(Some(Decoder::Gzip(Gunzip::new())))
    } else {
        let shown = crate::helpers::shown::cut(coding);
        Err(format!(
            "cannot decode the body: Content-Encoding '{shown}' is none of gzip, deflate, br \
             and zstd (those --compressed asks for); nothing saved"
        ))
    }
}

/// A streaming decoder of a body.
pub enum Decoder {
    Deflate(Inflate),
    Gzip(Gunzip),
}

impl Decoder {
    /// The next piece of output from `input`, whose start is consumed as far as it was used;
    /// `None` when nothing more comes out of it. `end` says that the body is over: `input` is
    /// all that is left, and a stream that has not ended by then is an error. Bytes after the
    /// end of the stream are ignored, as by curl.
    pub fn next(&mut self, input: &mut &[u8], end: bool) -> Result<Option<&[u8]>, String> {
        let more = match self {
            Decoder::Deflate(d) => d.fill(input, end)?,
            Decoder::Gzip(g) => g.fill(input, end)?,
        };
        Ok(more.then(|| match self {
            Decoder::Deflate(d) => &d.out[..],
            Decoder::Gzip(g) => &g.out[..],
        }))
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
    fn new() -> Inflate {
        Inflate {
            z: None,
            head: Vec::with_capacity(2),
            out: Vec::with_capacity(PIECE),
            ended: false,
        }
    }

    /// Makes the next piece in `out`; whether there is one.
    fn fill(&mut self, input: &mut &[u8], end: bool) -> Result<bool, String> {
        self.out.clear();
        if self.ended {
            *input = &[];
            return Ok(false);
        }
        if self.z.is_none() {
            let take = (2 - self.head.len()).min(input.len());
            self.head.extend_from_slice(&input[..take]);
            *input = &input[take..];
            if self.head.len() == 2 {
                self.z = Some(Decompress::new(zlib_header(self.head[0], self.head[1])));
                let head = std::mem::take(&mut self.head);
                self.run(&mut &head[..])?;
                self.head = head;
            }
        }
        self.run(input)?;
        let started = self.z.is_some() || !self.head.is_empty();
        if end && input.is_empty() && self.out.is_empty() && started && !self.ended {
            return Err(cut("deflate"));
        }
        Ok(!self.out.is_empty())
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
                .map_err(|e| corrupt("deflate", &e))?;
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

/// A streaming gzip decoder (flate2's, which checks the CRC and length at the end).
pub struct Gunzip {
    z: flate2::write::GzDecoder<Vec<u8>>,
    out: Vec<u8>,
    started: bool,
    finished: bool,
}

impl Gunzip {
    fn new() -> Gunzip {
        Gunzip {
            z: flate2::write::GzDecoder::new(Vec::with_capacity(PIECE)),
            out: Vec::with_capacity(PIECE),
            started: false,
            finished: false,
        }
    }

    /// Makes the next piece in `out`; whether there is one. Each write decodes at most 32
    /// KiB (flate2's buffer), so a piece passes PIECE by at most that.
    fn fill(&mut self, input: &mut &[u8], end: bool) -> Result<bool, String> {
        self.out.clear();
        std::mem::swap(&mut self.out, self.z.get_mut());
        while !input.is_empty() && self.out.len() < PIECE && !self.finished {
            self.started = true;
            let used = self.z.write(input).map_err(|e| corrupt("gzip", &e))?;
            *input = &input[used.min(input.len())..];
            self.out.append(self.z.get_mut());
            if used == 0 {
                // The stream is over: what follows is ignored.
                *input = &[];
            }
        }
        if end && input.is_empty() && self.out.is_empty() && self.started && !self.finished {
            self.finished = true;
            self.z.try_finish().map_err(|_| cut("gzip"))?;
            self.out.append(self.z.get_mut());
        }
        Ok(!self.out.is_empty())
    }
}

fn corrupt(coding: &str, e: &dyn std::fmt::Display) -> String {
    format!("cannot decode the {coding} body: it is corrupt ({e}); nothing saved")
}

fn cut(coding: &str) -> String {
    format!(
        "cannot decode the {coding} body: it ends before the {coding} stream does (corrupt or \
         cut); nothing saved"
    )
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

    fn decode_in_chunks(mut d: Decoder, encoded: &[u8], chunk: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut chunks: Vec<&[u8]> = encoded.chunks(chunk).collect();
        chunks.push(&[]);
        let last = chunks.len() - 1;
        for (i, mut input) in chunks.into_iter().enumerate() {
            while let Some(piece) = d.next(&mut input, i == last)? {
                assert!(piece.len() <= PIECE + 32 * 1024);
                out.extend_from_slice(piece);
            }
        }
        Ok(out)
    }

    fn inflate(encoded: &[u8], chunk: usize) -> Result<Vec<u8>, String> {
        decode_in_chunks(Decoder::Deflate(Inflate::new()), encoded, chunk)
    }

    fn gunzip(encoded: &[u8], chunk: usize) -> Result<Vec<u8>, String> {
        decode_in_chunks(Decoder::Gzip(Gunzip::new()), encoded, chunk)
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

    fn gzip(plain: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(plain).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn every_form_in_any_chunking_and_bombs_in_small_pieces() {
        let plain: Vec<u8> = (0..300_000u32).map(|i| (i % 7 + i / 1000) as u8).collect();
        for chunk in [1, 2, 3, 1000, 1 << 20] {
            for encoded in [zlib(&plain), raw(&plain)] {
                assert_eq!(inflate(&encoded, chunk).unwrap(), plain);
            }
            assert_eq!(gunzip(&gzip(&plain), chunk).unwrap(), plain);
            for empty in [raw(b""), zlib(b"")] {
                assert_eq!(inflate(&empty, chunk).unwrap(), b"");
            }
            assert_eq!(gunzip(&gzip(b""), chunk).unwrap(), b"");
            // Bytes after the end of the stream are ignored.
            let mut trailing = zlib(&plain);
            trailing.extend_from_slice(b"junk after the end");
            assert_eq!(inflate(&trailing, chunk).unwrap(), plain);
        }
        // 10 MiB of zeros in a few dozen KiB: handed out in small pieces.
        let zeros = vec![0; 10 << 20];
        let bomb = raw(&zeros);
        assert!(bomb.len() < 200_000, "{}", bomb.len());
        assert_eq!(inflate(&bomb, 1 << 20).unwrap().len(), 10 << 20);
        assert_eq!(gunzip(&gzip(&zeros), 1 << 20).unwrap().len(), 10 << 20);
    }

    #[test]
    fn corrupt_and_cut_streams_are_errors() {
        let plain = b"some text, some text, some text".repeat(100);
        let mut bad = zlib(&plain);
        let n = bad.len();
        bad[n - 2] ^= 0xff; // the Adler-32 check
        assert!(inflate(&bad, 7).unwrap_err().contains("corrupt"));
        let good = raw(&plain);
        let e = inflate(&good[..good.len() / 2], 7).unwrap_err();
        assert!(e.contains("ends before"), "{e}");
        assert!(inflate(b"\x78", 1).is_err(), "one byte of a header");
        let mut bad = gzip(&plain);
        let n = bad.len();
        bad[n - 6] ^= 0xff; // the CRC
        assert!(gunzip(&bad, 7).unwrap_err().contains("gzip"));
        let good = gzip(&plain);
        assert!(
            gunzip(&good[..good.len() - 3], 7).is_err(),
            "cut in the trailer"
        );
        assert!(gunzip(b"not gzip at all", 7)
            .unwrap_err()
            .contains("corrupt"));
        // An empty body is no stream, not a cut one.
        assert_eq!(inflate(b"", 1).unwrap(), b"");
        assert_eq!(gunzip(b"", 1).unwrap(), b"");
    }

    #[test]
    fn which_encodings() {
        let mut h = HeaderMap::new();
        assert!(matches!(decoder(true, &h), Ok(None)));
        h.insert(CONTENT_ENCODING, "x-custom".parse().unwrap());
        assert!(matches!(decoder(false, &h), Ok(None)));
        let e = decoder(true, &h).err().unwrap();
        assert!(e.contains("'x-custom'"), "{e}");
        h.insert(CONTENT_ENCODING, "Deflate".parse().unwrap());
        assert!(matches!(decoder(true, &h), Ok(Some(Decoder::Deflate(_)))));
        h.insert(CONTENT_ENCODING, "x-gzip".parse().unwrap());
        assert!(matches!(decoder(true, &h), Ok(Some(Decoder::Gzip(_)))));
        h.insert(CONTENT_ENCODING, "identity".parse().unwrap());
        assert!(matches!(decoder(true, &h), Ok(None)));
        assert!(zlib_header(0x78, 0x9c) && zlib_header(0x78, 0x01) && zlib_header(0x78, 0xda));
        assert!(!zlib_header(0x78, 0x00) && !zlib_header(0x00, 0x00) && !zlib_header(0x0b, 0x00));
    }
}
