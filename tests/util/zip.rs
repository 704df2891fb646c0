//! Reading the parts of an Office file (XLSX, DOCX): a ZIP archive's members by name.

use std::io::Read;

/// Every member of the archive as (name, bytes); stored and deflated members only, which is
/// what the XLSX and DOCX writers produce.
pub fn members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]) as usize;
    let u32_at = |i: usize| {
        u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize
    };
    // End of central directory: the last "PK\x05\x06".
    let eocd = (0..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .expect("a ZIP archive");
    let count = u16_at(eocd + 10);
    let mut at = u32_at(eocd + 16);
    let mut out = Vec::new();
    for _ in 0..count {
        assert_eq!(
            bytes[at..at + 4],
            [0x50, 0x4b, 0x01, 0x02],
            "central directory entry"
        );
        let method = u16_at(at + 10);
        let size = u32_at(at + 20);
        let (name_len, extra_len, comment_len) =
            (u16_at(at + 28), u16_at(at + 30), u16_at(at + 32));
        let local = u32_at(at + 42);
        let name = String::from_utf8_lossy(&bytes[at + 46..at + 46 + name_len]).into_owned();
        let data_at = local + 30 + u16_at(local + 26) + u16_at(local + 28);
        let raw = &bytes[data_at..data_at + size];
        let data = match method {
            0 => raw.to_vec(),
            8 => {
                let mut v = Vec::new();
                flate2::read::DeflateDecoder::new(raw)
                    .read_to_end(&mut v)
                    .expect("inflate");
                v
            }
            m => panic!("{name}: compression method {m}"),
        };
        out.push((name, data));
        at += 46 + name_len + extra_len + comment_len;
    }
    out
}

/// One member as text.
pub fn member(bytes: &[u8], name: &str) -> String {
    members(bytes)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, b)| String::from_utf8(b).expect("utf-8"))
        .unwrap_or_else(|| panic!("no {name} in the archive"))
}
