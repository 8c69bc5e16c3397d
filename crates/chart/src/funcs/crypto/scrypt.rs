//! scrypt (RFC 7914), for `derivePassword`, written to stay quick without optimisation.
//!
//! Why not the `scrypt` crate: compiled without optimisation, as it is in the debug build
//! of any project that depends on this crate (the workspace's `[profile.dev.package]`
//! overrides do not reach other projects), it took about 30 s for Master Password's
//! parameters (N = 32768, r = 8, p = 2). The salsa20/8 core below sticks to operations a
//! debug build still compiles to single instructions (no `rotate_left` calls, no iterator
//! adapters), which makes it several times faster there. PBKDF2-HMAC-SHA256 comes from
//! aws-lc-rs (native code). Checked against RFC 7914's test vectors and Helm's outputs.

use std::num::NonZeroU32;

/// Words (`u32`) in one 64-byte salsa20 block.
const SALSA_WORDS: usize = 16;

/// scrypt of `password` and `salt` with cost `N = 2^log_n`, block size `r` and
/// parallelism `p`, filling `out`. The caller checks the parameters (it uses fixed ones).
pub(super) fn scrypt(password: &[u8], salt: &[u8], log_n: u32, r: usize, p: usize, out: &mut [u8]) {
    let block_words = 2 * r * SALSA_WORDS;
    let mut bytes = vec![0u8; p * block_words * 4];
    pbkdf2_sha256(password, salt, &mut bytes);
    let mut words: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|word| u32::from_le_bytes([word[0], word[1], word[2], word[3]]))
        .collect();
    let n = 1usize << log_n;
    let mut table = vec![0u32; n * block_words];
    let mut scratch = vec![0u32; block_words];
    for block in words.chunks_exact_mut(block_words) {
        ro_mix(block, &mut table, &mut scratch, n);
    }
    for (bytes, word) in bytes.chunks_exact_mut(4).zip(&words) {
        bytes.copy_from_slice(&word.to_le_bytes());
    }
    pbkdf2_sha256(password, &bytes, out);
}

/// PBKDF2-HMAC-SHA256 with one iteration, as scrypt uses it.
fn pbkdf2_sha256(password: &[u8], salt: &[u8], out: &mut [u8]) {
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::MIN,
        salt,
        password,
        out,
    );
}

/// ROMix: `n` BlockMix rounds filling `table`, then `n` rounds mixing in table entries
/// chosen by the block itself (the memory-hard part).
fn ro_mix(block: &mut [u32], table: &mut [u32], scratch: &mut [u32], n: usize) {
    let len = block.len();
    let mut i = 0;
    while i < n {
        table[i * len..(i + 1) * len].copy_from_slice(block);
        block_mix(block, scratch);
        i += 1;
    }
    let mut i = 0;
    while i < n {
        // Integerify: the first word of the last salsa block; n is a power of two.
        let j = block[len - SALSA_WORDS] as usize & (n - 1);
        let entry = &table[j * len..(j + 1) * len];
        let mut k = 0;
        while k < len {
            block[k] ^= entry[k];
            k += 1;
        }
        block_mix(block, scratch);
        i += 1;
    }
}

/// BlockMix-salsa20/8 of `block` in place; `scratch` is as long as `block`.
fn block_mix(block: &mut [u32], scratch: &mut [u32]) {
    let count = block.len() / SALSA_WORDS;
    let mut x = [0u32; SALSA_WORDS];
    x.copy_from_slice(&block[block.len() - SALSA_WORDS..]);
    let mut i = 0;
    while i < count {
        let mut k = 0;
        while k < SALSA_WORDS {
            x[k] ^= block[i * SALSA_WORDS + k];
            k += 1;
        }
        salsa20_8(&mut x);
        // Even-numbered outputs go to the first half, odd-numbered ones to the second.
        let to = (i / 2 + (i % 2) * (count / 2)) * SALSA_WORDS;
        scratch[to..to + SALSA_WORDS].copy_from_slice(&x);
        i += 1;
    }
    block.copy_from_slice(scratch);
}

/// The salsa20/8 core: four double rounds, then the input added back.
// Shifts, not `rotate_left`: unoptimised, the latter is a function call (5x slower here).
#[allow(clippy::manual_rotate)]
fn salsa20_8(state: &mut [u32; SALSA_WORDS]) {
    let [
        mut x0,
        mut x1,
        mut x2,
        mut x3,
        mut x4,
        mut x5,
        mut x6,
        mut x7,
        mut x8,
        mut x9,
        mut x10,
        mut x11,
        mut x12,
        mut x13,
        mut x14,
        mut x15,
    ] = *state;
    macro_rules! rotl {
        ($v:expr, $by:literal) => {{
            let v: u32 = $v;
            (v << $by) | (v >> (32 - $by))
        }};
    }
    macro_rules! quarter {
        ($a:ident, $b:ident, $c:ident, $d:ident) => {
            $b ^= rotl!($a.wrapping_add($d), 7);
            $c ^= rotl!($b.wrapping_add($a), 9);
            $d ^= rotl!($c.wrapping_add($b), 13);
            $a ^= rotl!($d.wrapping_add($c), 18);
        };
    }
    let mut round = 0;
    while round < 4 {
        quarter!(x0, x4, x8, x12);
        quarter!(x5, x9, x13, x1);
        quarter!(x10, x14, x2, x6);
        quarter!(x15, x3, x7, x11);
        quarter!(x0, x1, x2, x3);
        quarter!(x5, x6, x7, x4);
        quarter!(x10, x11, x8, x9);
        quarter!(x15, x12, x13, x14);
        round += 1;
    }
    let mixed = [
        x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15,
    ];
    let mut k = 0;
    while k < SALSA_WORDS {
        state[k] = state[k].wrapping_add(mixed[k]);
        k += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn derive(password: &str, salt: &str, log_n: u32, r: usize, p: usize) -> String {
        let mut out = [0u8; 64];
        scrypt(password.as_bytes(), salt.as_bytes(), log_n, r, p, &mut out);
        hex::encode(out)
    }

    #[test]
    fn rfc_7914_test_vectors() {
        assert_eq!(
            derive("", "", 4, 1, 1),
            "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442\
             fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"
        );
        assert_eq!(
            derive("password", "NaCl", 10, 8, 16),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162\
             2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
        );
    }

    #[test]
    fn salsa20_8_core_matches_rfc_7914() {
        // RFC 7914 section 8: input and output as little-endian bytes.
        let input = hex::decode(
            "7e879a214f3ec9867ca940e641718f26baee555b8c61c1b50df846116dcd3b1d\
             ee24f319df9b3d8514121e4b5ac5aa3276021d2909c74829edebc68db8b8c25e",
        )
        .unwrap();
        let mut state = [0u32; SALSA_WORDS];
        for (word, bytes) in state.iter_mut().zip(input.chunks_exact(4)) {
            *word = u32::from_le_bytes(bytes.try_into().unwrap());
        }
        salsa20_8(&mut state);
        let output: Vec<u8> = state.iter().flat_map(|word| word.to_le_bytes()).collect();
        assert_eq!(
            hex::encode(output),
            "a41f859c6608cc993b81cacb020cef05044b2181a2fd337dfd7b1c6396682f29\
             b4393168e3c9e6bcfe6bc5b7a06d96bae424cc102c91745c24ad673dc7618f81"
        );
    }
}
