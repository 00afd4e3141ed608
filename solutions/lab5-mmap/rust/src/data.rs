//! The data process A owns and sends (ints drawn from a seed, exactly as the grader draws
//! them), and the FNV-1a checksum process B prints over the bytes it received.

/// The grader's int generator: splitmix64, low 32 bits as `i32`. `gen_ints` files and
/// `xfer_a`'s data are made of these, so the grader can compute the expected results.
pub fn ints_from_seed(seed: u64, count: u64) -> impl Iterator<Item = i32> {
    let mut state = seed;
    (0..count).map(move |_| {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as u32 as i32
    })
}

/// `bytes` bytes (a multiple of 4) of data: the native-endian bytes of
/// `ints_from_seed(seed, bytes / 4)`. This is "process A's memory".
pub fn data_from_seed(seed: u64, bytes: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(bytes);
    for v in ints_from_seed(seed, (bytes / 4) as u64) {
        data.extend_from_slice(&v.to_ne_bytes());
    }
    data
}

/// FNV-1a, 64 bits, fed incrementally (chunk by chunk as they arrive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a64(u64);

impl Default for Fnv1a64 {
    fn default() -> Self {
        Fnv1a64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a64 {
    /// Adds bytes to the checksum.
    pub fn update(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The checksum as 16 lowercase hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_the_reference_vectors() {
        assert_eq!(Fnv1a64::default().hex(), "cbf29ce484222325");
        let mut h = Fnv1a64::default();
        h.update(b"a");
        assert_eq!(h.hex(), "af63dc4c8601ec8c");
    }

    #[test]
    fn fnv_is_the_same_fed_in_pieces() {
        let data = data_from_seed(9, 4096);
        let mut whole = Fnv1a64::default();
        whole.update(&data);
        let mut pieces = Fnv1a64::default();
        data.chunks(1000).for_each(|c| pieces.update(c));
        assert_eq!(whole, pieces);
    }

    #[test]
    fn data_is_the_ints_of_the_seed() {
        let data = data_from_seed(42, 12);
        let ints: Vec<i32> = ints_from_seed(42, 3).collect();
        assert_eq!(&data[4..8], &ints[1].to_ne_bytes());
        assert_ne!(data_from_seed(43, 12), data);
    }
}
