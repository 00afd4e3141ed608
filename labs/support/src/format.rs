//! What the labs print the same way: keys as `0x%08x`, and the slides' pingpong line
//! with C's `%g`.

/// Number of `int`s in one pingpong message (the slides' `SIZE`).
pub const PING_INTS: usize = 16;
/// Bytes in one pingpong message (a POSIX queue's `mq_msgsize`).
pub const PING_BYTES: usize = PING_INTS * std::mem::size_of::<libc::c_int>();

/// A key as the course prints it: `0x%08x` of the 32-bit value.
pub fn hex_key(key: i32) -> String {
    format!("0x{:08x}", key as u32)
}

/// The slides' result line, same computation: `total_time` is the time spent sending, in
/// seconds, over `count` messages of 16 `int`s.
pub fn pingpong_line(count: u32, total_time: f64) -> String {
    let bytes = (PING_BYTES * count as usize) as f64;
    let latency_us = total_time / f64::from(count) * 1e6;
    let bandwidth = bytes / (total_time * 1024.0 * 1024.0);
    format!(
        "Pingpong takes {} usec Bandwidth is {} MB/s : \n",
        format_g(latency_us),
        format_g(bandwidth)
    )
}

/// C's `printf("%g", x)`: 6 significant digits, trailing zeros dropped, exponent form
/// (`1.5e+07`) when the exponent is below -4 or at least 6.
pub fn format_g(x: f64) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rounding to 6 digits first gives the exponent C uses (9999995 → 1e+07).
    let sci = format!("{x:.5e}");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponents are integers");
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{}e{sign}{:02}", trim_zeros(mantissa), exp.abs());
    }
    let decimals = (5 - exp) as usize;
    trim_zeros(&format!("{x:.decimals$}")).to_string()
}

/// Drops trailing zeros after a decimal point, then the point itself if nothing is left.
fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_print_as_eight_hex_digits() {
        assert_eq!(hex_key(0x10000), "0x00010000");
        assert_eq!(hex_key(0x7fffffff), "0x7fffffff");
        assert_eq!(hex_key(-2), "0xfffffffe");
    }

    #[test]
    fn g_matches_c_printf() {
        // Expected values printed by glibc's printf("%g").
        let cases = [
            (0.0, "0"),
            (1.0, "1"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (123456.7, "123457"),
            (999999.5, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001234567, "1.23457e-05"),
            (std::f64::consts::PI, "3.14159"),
            (2.5, "2.5"),
            (-42.125, "-42.125"),
            (1.5e300, "1.5e+300"),
            (f64::INFINITY, "inf"),
        ];
        for (x, want) in cases {
            assert_eq!(format_g(x), want, "format_g({x:e})");
        }
    }

    #[test]
    fn pingpong_line_is_the_slides_computation() {
        // 1000 messages, 2 ms in msgsnd: 2 usec each, 64000 bytes / 2 ms.
        let line = pingpong_line(1000, 0.002);
        assert_eq!(line, "Pingpong takes 2 usec Bandwidth is 30.5176 MB/s : \n");
    }
}
