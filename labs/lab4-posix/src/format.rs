//! What the programs print: lab 1's pingpong lines (the support crate's, with C's `%g`),
//! the shm client's `Val is N max is MAX` and the semaphore alternation's lines.

pub use lab_support::format::{format_g, pingpong_line, PING_BYTES, PING_INTS};

/// Printed by the parent each time it takes the semaphore.
pub const PARENT_HOLDING: &str = "PARENT holding the sem";
/// Printed by the child each time it takes the semaphore.
pub const CHILD_HOLDING: &str = "CHILD holding the sem";
/// The child's last line, once it has learnt that the parent is done.
pub const CHILD_DONE: &str = "Child: parent done";
/// The server's line once the object is sized, mapped and initialised.
pub const SERVER_READY: &str = "ready";

/// The pingpong's stdout line.
pub fn messages_line(count: u32) -> String {
    format!("messages: {count}")
}

/// The shm client's line for one value of the counter.
pub fn val_line(val: i32, max: i32) -> String {
    format!("Val is {val} max is {max}")
}

#[cfg(test)]
mod tests {
    use super::*;

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
