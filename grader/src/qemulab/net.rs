//! The forwarded port, seen from the host: an HTTP request for the guest's facts on
//! `127.0.0.1:HOST_PORT`. QEMU's user networking accepts a connection on a forwarded
//! port even when nothing answers in the guest, so "refused" (no forwarding) and
//! "closed without an answer" (forwarding to nothing) are told apart.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::console::Facts;

/// One attempt's connect and read budget.
const ATTEMPT: Duration = Duration::from_secs(3);
/// Pause between attempts.
const RETRY: Duration = Duration::from_millis(250);
/// Largest answer read.
const MAX_ANSWER: u64 = 64 << 10;

/// Why the facts did not come through the port (the last attempt's reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// Nothing listens on the host port.
    Refused,
    /// Something accepted the connection but sent nothing back.
    NoAnswer,
    /// An answer without this run's facts (another service, or another run's guest).
    Foreign(String),
    /// Another network error.
    Other(String),
}

/// Asks `127.0.0.1:port` for `/cgi-bin/facts` until the facts carrying `nonce` arrive
/// or `deadline` passes.
pub fn fetch_facts(port: u16, nonce: &str, deadline: Instant) -> Result<Facts, NetError> {
    loop {
        let result = attempt(port).and_then(|text| {
            let facts = Facts::parse(&text);
            match facts.get("nonce") {
                Some(n) if n == nonce => Ok(facts),
                _ => Err(NetError::Foreign(text.chars().take(200).collect())),
            }
        });
        // QEMU forwards from its start: a refusal will not change by waiting.
        if matches!(result, Ok(_) | Err(NetError::Refused)) || Instant::now() + RETRY >= deadline {
            return result;
        }
        std::thread::sleep(RETRY);
    }
}

fn attempt(port: u16) -> Result<String, NetError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, ATTEMPT).map_err(|e| match e.kind() {
        std::io::ErrorKind::ConnectionRefused => NetError::Refused,
        _ => NetError::Other(e.to_string()),
    })?;
    let other = |e: std::io::Error| NetError::Other(e.to_string());
    stream.set_read_timeout(Some(ATTEMPT)).map_err(other)?;
    stream.set_write_timeout(Some(ATTEMPT)).map_err(other)?;
    stream
        .write_all(b"GET /cgi-bin/facts HTTP/1.0\r\nHost: guest\r\n\r\n")
        .map_err(|_| NetError::NoAnswer)?;
    let mut answer = Vec::new();
    // A reset or a timeout after some bytes still leaves those bytes to look at.
    let _ = stream.take(MAX_ANSWER).read_to_end(&mut answer);
    if answer.is_empty() {
        return Err(NetError::NoAnswer);
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn serve(answer: &'static str) -> u16 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                let mut buf = [0u8; 512];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        port
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_millis(600)
    }

    #[test]
    fn facts_with_the_right_nonce_are_taken() {
        let port =
            serve("HTTP/1.0 200 OK\r\n\r\n@@facts-begin\nnonce=abc\nonline=0-1\n@@facts-end\n");
        let facts = fetch_facts(port, "abc", soon()).unwrap();
        assert_eq!(facts.cpu_count("online"), Some(2));
        assert!(matches!(
            fetch_facts(port, "xyz", soon()),
            Err(NetError::Foreign(_))
        ));
    }

    #[test]
    fn refused_and_silent_ports_are_told_apart() {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert_eq!(fetch_facts(port, "abc", soon()), Err(NetError::Refused));
        let silent = serve("");
        assert_eq!(fetch_facts(silent, "abc", soon()), Err(NetError::NoAnswer));
    }
}
