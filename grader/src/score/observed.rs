//! Checks on what the agent observed besides processes: IPC objects, queue contents,
//! files.

use crate::config::Vars;
use crate::protocol::{FileFacts, IpcObject};
use crate::spec::expect::{quote, ExpectSpec, IpcMatch};

use super::{fail, Miss};

pub(super) fn kind_name(k: crate::protocol::IpcKind) -> &'static str {
    use crate::protocol::IpcKind::*;
    match k {
        Msg => "SysV message queue",
        Shm => "SysV shared memory segment",
        Sem => "SysV semaphore set",
        PosixMq => "POSIX message queue",
        PosixShm => "POSIX shared memory object",
        PosixSem => "POSIX named semaphore",
    }
}

/// One line naming an object: kind, key or name, id, owner.
pub fn describe_object(o: &IpcObject) -> String {
    let mut s = kind_name(o.ipc).to_string();
    if let Some(k) = o.key {
        s.push_str(&format!(" key 0x{:08x}", k as u32));
    }
    if let Some(n) = &o.name {
        s.push_str(&format!(" {n}"));
    }
    if let Some(id) = o.id {
        s.push_str(&format!(" id {id}"));
    }
    s.push_str(&format!(
        " (mode {:o}, size {}, owner uid {})",
        o.mode, o.size, o.uid
    ));
    s
}

fn matches_object(m: &IpcMatch, o: &IpcObject, vars: &Vars) -> Result<bool, String> {
    if m.ipc != o.ipc {
        return Ok(false);
    }
    if let Some(k) = &m.key {
        // Keys are 32-bit: 0xffff_ffff in a spec and -1 from the kernel are the same key.
        if Some(k.resolve(vars)? as u32 as i32) != o.key {
            return Ok(false);
        }
    }
    if let Some(n) = &m.name {
        let n = crate::config::render(n, vars)?;
        let want = n.trim_start_matches('/');
        if o.name.as_deref().map(|s| s.trim_start_matches('/')) != Some(want) {
            return Ok(false);
        }
    }
    Ok(true)
}

pub(super) fn check_snapshot(
    objects: &[IpcObject],
    e: &ExpectSpec,
    vars: &Vars,
) -> Result<(), Miss> {
    let err = |s: String| fail(s);
    for m in &e.ipc {
        let found: Vec<&IpcObject> = objects
            .iter()
            .filter(|o| matches_object(m, o, vars).unwrap_or(false))
            .collect();
        let Some(o) = found.first() else {
            return Err(err(format!(
                "expected {} but the system has {}",
                describe_match(m, vars),
                describe_all(objects)
            )));
        };
        let want = |f: &Option<crate::spec::IntOrTemplate>| {
            f.as_ref().map(|v| v.resolve(vars)).transpose()
        };
        if let Some(mode) = m.mode {
            if o.mode & 0o777 != mode {
                return Err(err(format!(
                    "{} has permissions {:o}, expected {:o}",
                    describe_object(o),
                    o.mode & 0o777,
                    mode
                )));
            }
        }
        if let Some(size) = want(&m.size).map_err(err)? {
            if o.size as i64 != size {
                return Err(err(format!(
                    "{} has size {}, expected {size}",
                    describe_object(o),
                    o.size
                )));
            }
        }
        if let Some(count) = want(&m.count).map_err(err)? {
            if o.count as i64 != count {
                return Err(err(format!(
                    "{} holds {} (messages or attachments), expected {count}",
                    describe_object(o),
                    o.count
                )));
            }
        }
    }
    for m in &e.no_ipc {
        if let Some(o) = objects
            .iter()
            .find(|o| matches_object(m, o, vars).unwrap_or(false))
        {
            return Err(err(format!(
                "{} still exists; it should have been removed",
                describe_object(o)
            )));
        }
    }
    Ok(())
}

fn describe_match(m: &IpcMatch, vars: &Vars) -> String {
    let mut s = format!("a {}", kind_name(m.ipc));
    if let Some(k) = m.key.as_ref().and_then(|k| k.resolve(vars).ok()) {
        s.push_str(&format!(" with key 0x{:08x}", k as u32));
    }
    if let Some(n) = &m.name {
        s.push_str(&format!(
            " named {}",
            crate::config::render(n, vars).unwrap_or_else(|_| n.clone())
        ));
    }
    s
}

fn describe_all(objects: &[IpcObject]) -> String {
    if objects.is_empty() {
        return "no IPC object at all".into();
    }
    objects
        .iter()
        .map(describe_object)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn check_messages(
    got: &[crate::protocol::Message],
    error: Option<&str>,
    e: &ExpectSpec,
    vars: &Vars,
) -> Result<(), Miss> {
    let Some(want) = &e.messages else {
        return Ok(());
    };
    if let Some(err) = error {
        return Err(fail(format!("reading the queue back failed: {err}")));
    }
    let want: Vec<(i64, String)> = want
        .iter()
        .map(|m| Ok((m.mtype, crate::config::render(&m.text, vars)?)))
        .collect::<Result<_, String>>()
        .map_err(fail)?;
    let got_pairs: Vec<(i64, String)> = got.iter().map(|m| (m.mtype, m.text.clone())).collect();
    if want == got_pairs {
        return Ok(());
    }
    let show = |v: &[(i64, String)]| {
        if v.is_empty() {
            "nothing".to_string()
        } else {
            v.iter()
                .map(|(t, s)| format!("type {t} {}", quote(s)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    Err(fail(format!(
        "the queue should hold {} but holds {}",
        show(&want),
        show(&got_pairs)
    )))
}

pub(super) fn check_file(f: &FileFacts, e: &ExpectSpec, vars: &Vars) -> Result<(), Miss> {
    let want_exists = e.exists.unwrap_or(true);
    if f.exists != want_exists {
        return Err(fail(if want_exists {
            format!("file `{}` does not exist", f.path)
        } else {
            format!("file `{}` exists but should not", f.path)
        }));
    }
    if !f.exists {
        return Ok(());
    }
    if let Some(mode) = e.mode {
        if f.mode & 0o777 != mode {
            return Err(fail(format!(
                "file `{}` has permissions {:o}, expected {mode:o}",
                f.path,
                f.mode & 0o777
            )));
        }
    }
    if let Some(size) = &e.size {
        let size = size.resolve(vars).map_err(fail)?;
        if f.size as i64 != size {
            return Err(fail(format!(
                "file `{}` has {} bytes, expected {size}",
                f.path, f.size
            )));
        }
    }
    if let Some(sha) = &e.sha256 {
        let sha = crate::config::render(sha, vars).map_err(fail)?;
        if f.sha256 != sha {
            return Err(fail(format!(
                "file `{}` does not have the expected content (sha256 {} instead of {sha})",
                f.path, f.sha256
            )));
        }
    }
    if let Some(c) = &e.contains {
        let c = crate::config::render(c, vars).map_err(fail)?;
        if !f.head.contains(&c) {
            return Err(fail(format!(
                "file `{}` should contain {} but starts with {}",
                f.path,
                quote(&c),
                quote(&f.head)
            )));
        }
    }
    if let Some(c) = &e.not_contains {
        let c = crate::config::render(c, vars).map_err(fail)?;
        if f.head.contains(&c) {
            return Err(fail(format!(
                "file `{}` should not contain {} but starts with {}",
                f.path,
                quote(&c),
                quote(&f.head)
            )));
        }
    }
    if let Some(of) = &e.sorted_ints_of {
        check_sorted(f, of, vars)?;
    }
    Ok(())
}

fn check_sorted(f: &FileFacts, of: &crate::spec::expect::IntsOf, vars: &Vars) -> Result<(), Miss> {
    let count = of.count.resolve(vars).map_err(fail)? as u64;
    let seed = of.seed.resolve(vars).map_err(fail)? as u64;
    if f.size != count * 4 {
        return Err(fail(format!("file `{}` has {} bytes; {count} ints are {} bytes: the file must be sorted in place, not truncated or extended", f.path, f.size, count * 4)));
    }
    let expected = crate::spec::params::ints_bytes(seed, count, true);
    let sha = crate::course::sha256_hex(&expected);
    if f.sha256 == sha {
        return Ok(());
    }
    let unsorted = crate::course::sha256_hex(&crate::spec::params::ints_bytes(seed, count, false));
    Err(fail(if f.sha256 == unsorted {
        format!(
            "file `{}` is unchanged: the sort never reached the file (MAP_SHARED? msync?)",
            f.path
        )
    } else {
        format!(
            "file `{}` is not the sorted input: some ints are out of order, lost or changed",
            f.path
        )
    }))
}
