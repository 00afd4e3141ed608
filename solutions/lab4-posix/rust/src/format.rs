//! What the programs print: lab 1's pingpong lines (C's `%g`), the shm client's
//! `Val is N max is MAX` and the semaphore alternation's lines.

/// Number of `int`s in one pingpong message (the slides' `SIZE`).
pub const PING_INTS: usize = 16;
/// Bytes in one pingpong message, the queues' `mq_msgsize`.
pub const PING_BYTES: usize = PING_INTS * std::mem::size_of::<libc::c_int>();

/// Printed by the parent each time it takes the semaphore.
pub const PARENT_HOLDING: &str = "PARENT holding the sem";
/// Printed by the child each time it takes the semaphore.
pub const CHILD_HOLDING: &str = "CHILD holding the sem";
/// The child's last line, once it has learnt that the parent is done.
pub const CHILD_DONE: &str = "Child: parent done";
/// The server's line once the object is sized, mapped and initialised.
pub const SERVER_READY: &str = "ready";

/// The slides' result line, same computation: `total_time` is the time spent in
/// `mq_send`, in seconds, over `count` messages of 16 `int`s.
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

/// The pingpong's stdout line.
pub fn messages_line(count: u32) -> String {
    format!("messages: {count}")
}

/// The shm client's line for one value of the counter.
pub fn val_line(val: i32, max: i32) -> String {
    format!("Val is {val} max is {max}")
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
    fn g_matches_c_printf() {
        // Expected values printed by glibc's printf("%g").
        let cases = [
            (0.0, "0"),
            (100000.0, "100000"),
            (1000000.0, "1e+06"),
            (999999.5, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001234567, "1.23457e-05"),
            (83.5962, "83.5962"),
            (-42.125, "-42.125"),
            (f64::INFINITY, "inf"),
        ];
        for (x, want) in cases {
            assert_eq!(format_g(x), want, "format_g({x:e})");
        }
    }

    #[test]
    fn pingpong_lines_are_lab1s() {
        // 1000 messages, 2 ms in mq_send: 2 usec each, 64000 bytes / 2 ms.
        let line = pingpong_line(1000, 0.002);
        assert_eq!(line, "Pingpong takes 2 usec Bandwidth is 30.5176 MB/s : \n");
        assert_eq!(messages_line(1000), "messages: 1000");
    }

    #[test]
    fn val_line_is_the_slides() {
        assert_eq!(val_line(7, 60), "Val is 7 max is 60");
    }
}
