//! NumPy `.npy` arrays: headers, and data decoded whole or a range of rows at a time (the members
//! of the `.npz` archives `np.savez` writes; see `data::tensors::NpzStream`).
//!
//! Supported element types: float32/float64 (read as f32), int8–int64 and uint8–uint32 (as i64),
//! bool (as i64), and fixed-width strings (`<U`, `|S`). C order only; Fortran-ordered arrays are
//! refused with a hint to save them with `np.ascontiguousarray`.

#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    F32(Vec<f32>),
    I64(Vec<i64>),
    Str(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: NpyData,
}

fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    Some(rest)
}

/// An array's header: element type, shape, and where its data starts.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyHeader {
    pub shape: Vec<usize>,
    pub descr: String,
    kind: char,
    width: usize,
    /// Bytes per element.
    pub elem: usize,
    /// Bytes before the data (magic, version, header).
    pub data_offset: usize,
    /// Elements in the array.
    pub count: usize,
}

impl NpyHeader {
    /// Bytes per row (one index along the first axis); the whole array for a 0-d array.
    pub fn row_bytes(&self) -> usize {
        // Cannot overflow: `count * elem` was checked and a row is a part of it.
        self.shape.iter().skip(1).product::<usize>() * self.elem
    }

    /// Bytes of data the shape needs.
    pub fn data_bytes(&self) -> usize {
        self.count * self.elem
    }

    /// Decodes whole elements of `body` (data bytes of this dtype).
    pub fn decode(&self, body: &[u8]) -> NpyData {
        let chunks = body.chunks_exact(self.elem.max(1));
        match (self.kind, self.width) {
            ('f', 4) => NpyData::F32(chunks.map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default())).collect()),
            ('f', 8) => NpyData::F32(chunks.map(|c| f64::from_le_bytes(c.try_into().unwrap_or_default()) as f32).collect()),
            ('i', 1) => NpyData::I64(chunks.map(|c| c[0] as i8 as i64).collect()),
            ('i', 2) => NpyData::I64(chunks.map(|c| i16::from_le_bytes([c[0], c[1]]) as i64).collect()),
            ('i', 4) => NpyData::I64(chunks.map(|c| i32::from_le_bytes(c.try_into().unwrap_or_default()) as i64).collect()),
            ('i', 8) => NpyData::I64(chunks.map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default())).collect()),
            ('u', 2) => NpyData::I64(chunks.map(|c| u16::from_le_bytes([c[0], c[1]]) as i64).collect()),
            ('u', 4) => NpyData::I64(chunks.map(|c| u32::from_le_bytes(c.try_into().unwrap_or_default()) as i64).collect()),
            ('U', _) => NpyData::Str(
                chunks
                    .map(|c| {
                        c.chunks_exact(4)
                            .map(|u| u32::from_le_bytes(u.try_into().unwrap_or_default()))
                            .take_while(|&u| u != 0)
                            .map(|u| char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER))
                            .collect()
                    })
                    .collect(),
            ),
            ('S', _) => NpyData::Str(chunks.map(|c| String::from_utf8_lossy(&c[..c.iter().position(|&b| b == 0).unwrap_or(c.len())]).into_owned()).collect()),
            // ('u', 1) and ('b', 1); parse_header admits no other dtype.
            _ => NpyData::I64(chunks.map(|c| c[0] as i64).collect()),
        }
    }
}

/// What an array decodes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyKind {
    Float,
    Int,
    Str,
}

impl NpyHeader {
    pub fn decodes_to(&self) -> NpyKind {
        match self.kind {
            'f' => NpyKind::Float,
            'U' | 'S' => NpyKind::Str,
            _ => NpyKind::Int,
        }
    }
}

fn supported(kind: char, width: usize) -> bool {
    matches!((kind, width), ('f', 4 | 8) | ('i', 1 | 2 | 4 | 8) | ('u', 1 | 2 | 4) | ('b', 1) | ('U', _) | ('S', _))
}

/// Parses a `.npy` header from the start of `bytes` (at least the magic, version and header).
pub fn parse_header(bytes: &[u8]) -> Result<NpyHeader, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy array (bad magic)".into());
    }
    let (header_len, offset): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = std::str::from_utf8(bytes.get(offset..offset.saturating_add(header_len)).ok_or("truncated header")?).map_err(|_| "header is not text")?;
    let descr = field(header, "descr").and_then(|r| r.strip_prefix('\'')).and_then(|r| r.split('\'').next()).ok_or("no descr in header")?;
    if field(header, "fortran_order").is_some_and(|r| r.starts_with("True")) {
        return Err("Fortran-ordered array; save it with np.ascontiguousarray".into());
    }
    let shape_text = field(header, "shape").and_then(|r| r.strip_prefix('(')).and_then(|r| r.split(')').next()).ok_or("no shape in header")?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| format!("bad shape '{shape_text}'")))
        .collect::<Result<_, _>>()?;
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or_else(|| format!("shape {shape:?} is too large"))?;
    let (order, kind, width) = {
        let mut chars = descr.chars();
        let order = chars.next().ok_or("empty descr")?;
        let kind = chars.next().ok_or("short descr")?;
        let width: usize = chars.as_str().parse().map_err(|_| format!("unsupported dtype '{descr}'"))?;
        (order, kind, width)
    };
    if order == '>' && width > 1 {
        return Err(format!("big-endian dtype '{descr}' is not supported; save with little-endian ('<') types"));
    }
    if !supported(kind, width) {
        return Err(format!("unsupported dtype '{descr}' (use float32, an integer type, bool or str)"));
    }
    let elem = if kind == 'U' { width.checked_mul(4).ok_or_else(|| format!("dtype '{descr}' is too wide"))? } else { width };
    count.checked_mul(elem).ok_or_else(|| format!("shape {shape:?} of '{descr}' is too large"))?;
    Ok(NpyHeader { shape, descr: descr.to_string(), kind, width, elem, data_offset: offset + header_len, count })
}

/// Parses a whole `.npy` file held in memory.
pub fn parse_npy(bytes: &[u8]) -> Result<NpyArray, String> {
    let h = parse_header(bytes)?;
    let body = bytes
        .get(h.data_offset..)
        .and_then(|b| b.get(..h.data_bytes()))
        .ok_or_else(|| format!("data is shorter than shape {:?} of '{}' needs", h.shape, h.descr))?;
    let data = h.decode(body);
    Ok(NpyArray { shape: h.shape, data })
}

/// Writes .npy bytes the way numpy does (version 1.0, header padded to 64), for tests.
#[cfg(test)]
pub(crate) fn npy_bytes(descr: &str, shape: &str, body: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use npy_bytes as npy;

    #[test]
    fn parses_floats_ints_and_strings() {
        let body: Vec<u8> = [1.5f32, -2.0, 0.25, 4.0].iter().flat_map(|x| x.to_le_bytes()).collect();
        let a = parse_npy(&npy("<f4", "(2, 2)", &body)).unwrap();
        assert_eq!(a.shape, vec![2, 2]);
        assert_eq!(a.data, NpyData::F32(vec![1.5, -2.0, 0.25, 4.0]));
        let body: Vec<u8> = [3i64, -1].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(parse_npy(&npy("<i8", "(2,)", &body)).unwrap().data, NpyData::I64(vec![3, -1]));
        let body: Vec<u8> = ["Male", "Fé"]
            .iter()
            .flat_map(|s| {
                let mut v: Vec<u8> = s.chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
                v.resize(16, 0);
                v
            })
            .collect();
        assert_eq!(parse_npy(&npy("<U4", "(2,)", &body)).unwrap().data, NpyData::Str(vec!["Male".into(), "Fé".into()]));
    }

    /// Regression (cargo-fuzz, npy target): a header whose shape product overflows usize.
    #[test]
    fn a_shape_that_overflows_is_an_error() {
        let input = include_bytes!("../../tests/cli/regressions/npy-shape-overflow.npy");
        assert!(parse_npy(input).is_err());
        assert!(parse_npy(&npy("<f4", "(4294967296, 4294967296, 16)", &[])).unwrap_err().contains("too large"));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(parse_npy(b"hello world").unwrap_err().contains("magic"));
        assert!(parse_npy(&npy("<c8", "(1,)", &[0; 8])).unwrap_err().contains("unsupported dtype"));
        assert!(parse_npy(&npy("<f4", "(4,)", &[0; 8])).unwrap_err().contains("shorter"));
    }
}
