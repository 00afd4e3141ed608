//! The IPC objects of the agent's namespace: listing them (SysV from `/proc/sysvipc`,
//! POSIX from `/dev/mqueue` and `/dev/shm`), creating and removing them, and talking to
//! SysV message queues on the scenario's behalf.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::protocol::{IpcKind, IpcObject, Leak, Message};

/// Where POSIX message queues and shared memory objects appear as files.
const MQUEUE_DIR: &str = "/dev/mqueue";
const SHM_DIR: &str = "/dev/shm";
/// glibc names a POSIX semaphore `/NAME` as the file `/dev/shm/sem.NAME`.
const SEM_PREFIX: &str = "sem.";
/// Largest message payload `msg_drain` reads (longer ones are cut: MSG_NOERROR).
const MSG_BUF: usize = 8192;

/// Failures to list or handle IPC objects.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    /// A listing file or directory could not be read.
    #[error("failed to read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A system call on an object failed.
    #[error("failed to {op} {what}")]
    Call {
        /// The call (`msgget`, `shm_open`…).
        op: &'static str,
        /// The object (`key 0x1234`, `/name`).
        what: String,
        /// The OS error.
        source: io::Error,
    },
    /// The step named no key (SysV) or no name (POSIX).
    #[error("failed to find the object: a {0:?} object needs a {1}")]
    Missing(IpcKind, &'static str),
    /// A POSIX name held a NUL byte or a slash past the first.
    #[error("failed to use POSIX name {0:?}: it must be `/name` without other slashes")]
    BadName(String),
}

fn call_err(op: &'static str, what: impl Into<String>) -> IpcError {
    IpcError::Call {
        op,
        what: what.into(),
        source: io::Error::last_os_error(),
    }
}

fn key_text(key: i32) -> String {
    format!("key 0x{:08x}", key as u32)
}

/// Every IPC object visible in the current IPC namespace and `/dev` mounts.
pub(crate) fn list() -> Result<Vec<IpcObject>, IpcError> {
    let mut all = Vec::new();
    for (kind, file) in [
        (IpcKind::Msg, "msg"),
        (IpcKind::Shm, "shm"),
        (IpcKind::Sem, "sem"),
    ] {
        let path = Path::new("/proc/sysvipc").join(file);
        match fs::read_to_string(&path) {
            Ok(text) => all.extend(parse_sysv(kind, &text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(IpcError::Read { path, source }),
        }
    }
    all.extend(list_dir(MQUEUE_DIR, |_| IpcKind::PosixMq)?);
    all.extend(list_dir(SHM_DIR, |n| {
        if n.starts_with(SEM_PREFIX) {
            IpcKind::PosixSem
        } else {
            IpcKind::PosixShm
        }
    })?);
    Ok(all)
}

/// Parses a `/proc/sysvipc/{msg,shm,sem}` table. The three files have different columns,
/// so fields are found by their header names.
pub(crate) fn parse_sysv(kind: IpcKind, text: &str) -> Vec<IpcObject> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (id, size, count, pid) = match kind {
        IpcKind::Msg => (col("msqid"), col("cbytes"), col("qnum"), col("lspid")),
        IpcKind::Shm => (col("shmid"), col("size"), col("nattch"), col("cpid")),
        _ => (col("semid"), col("nsems"), None, None),
    };
    let (key, perms, uid) = (col("key"), col("perms"), col("uid"));
    lines
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let get = |i: Option<usize>| i.and_then(|i| f.get(i).copied());
            let num = |i: Option<usize>| get(i).and_then(|v| v.parse::<i64>().ok());
            Some(IpcObject {
                ipc: kind,
                key: Some(num(key)? as i32),
                id: Some(num(id)? as i32),
                name: None,
                mode: u32::from_str_radix(get(perms)?, 8).ok()?,
                size: num(size).unwrap_or(0) as u64,
                uid: num(uid).unwrap_or(0) as u32,
                count: num(count).unwrap_or(0) as u64,
                pid: num(pid).map(|p| p as i32).filter(|&p| p != 0),
            })
        })
        .collect()
}

fn list_dir(dir: &str, kind_of: impl Fn(&str) -> IpcKind) -> Result<Vec<IpcObject>, IpcError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(IpcError::Read {
                path: dir.into(),
                source,
            })
        }
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Ok(meta) = entry.metadata() else { continue };
        let kind = kind_of(&file);
        let name = format!(
            "/{}",
            file.strip_prefix(SEM_PREFIX)
                .filter(|_| kind == IpcKind::PosixSem)
                .unwrap_or(&file)
        );
        let (size, count) = match kind {
            IpcKind::PosixMq => mq_usage(&entry.path(), &name),
            IpcKind::PosixSem => (1, 0),
            _ => (meta.len(), 0),
        };
        out.push(IpcObject {
            ipc: kind,
            key: None,
            id: None,
            name: Some(name),
            mode: meta.mode() & 0o7777,
            size,
            uid: meta.uid(),
            count,
            pid: None,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Bytes queued (the `QSIZE:` of the mqueue file) and messages queued (`mq_getattr`).
fn mq_usage(file: &Path, name: &str) -> (u64, u64) {
    let bytes = fs::read_to_string(file)
        .ok()
        .and_then(|t| {
            t.split_whitespace()
                .find_map(|w| w.strip_prefix("QSIZE:")?.parse().ok())
        })
        .unwrap_or(0);
    let Ok(cname) = CString::new(name) else {
        return (bytes, 0);
    };
    // SAFETY: mq_open with a valid C string and no O_CREAT needs no further arguments.
    let mqd = unsafe { libc::mq_open(cname.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK) };
    if mqd < 0 {
        return (bytes, 0);
    }
    // SAFETY: mq_attr is plain data filled by mq_getattr; mqd is ours to close.
    let count = unsafe {
        let mut attr: libc::mq_attr = std::mem::zeroed();
        let ok = libc::mq_getattr(mqd, &mut attr) == 0;
        libc::mq_close(mqd);
        if ok {
            attr.mq_curmsgs as u64
        } else {
            0
        }
    };
    (bytes, count)
}

/// The shell command a student would type to remove `obj`.
pub(crate) fn remove_command(obj: &IpcObject) -> String {
    let id = obj.id.unwrap_or(-1);
    let name = obj.name.as_deref().unwrap_or("").trim_start_matches('/');
    match obj.ipc {
        IpcKind::Msg => format!("ipcrm -q {id}"),
        IpcKind::Shm => format!("ipcrm -m {id}"),
        IpcKind::Sem => format!("ipcrm -s {id}"),
        IpcKind::PosixMq => format!("rm {MQUEUE_DIR}/{name}"),
        IpcKind::PosixShm => format!("rm {SHM_DIR}/{name}"),
        IpcKind::PosixSem => format!("rm {SHM_DIR}/{SEM_PREFIX}{name}"),
    }
}

/// Lists what is left, then removes it all: the leak audit.
pub(crate) fn collect_leaks() -> Result<Vec<Leak>, IpcError> {
    let leaks: Vec<Leak> = list()?
        .into_iter()
        .map(|object| Leak {
            remove_command: remove_command(&object),
            object,
        })
        .collect();
    for leak in &leaks {
        remove_object(&leak.object)?;
    }
    Ok(leaks)
}

/// Removes one listed object.
fn remove_object(obj: &IpcObject) -> Result<(), IpcError> {
    match (obj.ipc, obj.id) {
        (IpcKind::Msg | IpcKind::Shm | IpcKind::Sem, Some(id)) => sysv_rmid(obj.ipc, id),
        _ => remove(obj.ipc, None, obj.name.as_deref()),
    }
}

fn sysv_rmid(kind: IpcKind, id: i32) -> Result<(), IpcError> {
    // SAFETY: IPC_RMID ignores the buffer argument; the calls take plain integers.
    let rc = unsafe {
        match kind {
            IpcKind::Msg => libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()),
            IpcKind::Shm => libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()),
            _ => libc::semctl(id, 0, libc::IPC_RMID),
        }
    };
    if rc != 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
        return Err(call_err("remove", format!("{kind:?} id {id}")));
    }
    Ok(())
}

/// The SysV id for `key`, `None` if no such object exists.
fn sysv_id(kind: IpcKind, key: i32) -> Result<Option<i32>, IpcError> {
    // SAFETY: the *get calls take plain integers; flag 0 only looks the key up.
    let id = unsafe {
        match kind {
            IpcKind::Msg => libc::msgget(key, 0),
            IpcKind::Shm => libc::shmget(key, 0, 0),
            _ => libc::semget(key, 0, 0),
        }
    };
    if id >= 0 {
        return Ok(Some(id));
    }
    match io::Error::last_os_error().raw_os_error() {
        Some(libc::ENOENT) => Ok(None),
        _ => Err(call_err("look up", key_text(key))),
    }
}

/// The file holding POSIX object `name` (`/x` → `/dev/shm/x`, `/dev/shm/sem.x`, `/dev/mqueue/x`).
fn posix_path(kind: IpcKind, name: &str) -> Result<PathBuf, IpcError> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    if bare.is_empty() || bare.contains('/') || bare.contains('\0') {
        return Err(IpcError::BadName(name.to_string()));
    }
    Ok(match kind {
        IpcKind::PosixMq => Path::new(MQUEUE_DIR).join(bare),
        IpcKind::PosixSem => Path::new(SHM_DIR).join(format!("{SEM_PREFIX}{bare}")),
        _ => Path::new(SHM_DIR).join(bare),
    })
}

/// Removes the object with this key or name, if it exists.
pub(crate) fn remove(kind: IpcKind, key: Option<i32>, name: Option<&str>) -> Result<(), IpcError> {
    if matches!(kind, IpcKind::Msg | IpcKind::Shm | IpcKind::Sem) {
        let key = key.ok_or(IpcError::Missing(kind, "key"))?;
        return match sysv_id(kind, key)? {
            Some(id) => sysv_rmid(kind, id),
            None => Ok(()),
        };
    }
    let name = name.ok_or(IpcError::Missing(kind, "name"))?;
    // mq_unlink and shm_unlink amount to unlinking these files.
    match fs::remove_file(posix_path(kind, name)?) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(IpcError::Call {
            op: "remove",
            what: name.to_string(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Whether the object with this key or name exists now.
pub(crate) fn exists(kind: IpcKind, key: Option<i32>, name: Option<&str>) -> bool {
    match (kind, key, name) {
        (IpcKind::Msg | IpcKind::Shm | IpcKind::Sem, Some(key), _) => {
            matches!(sysv_id(kind, key), Ok(Some(_)))
        }
        (IpcKind::PosixMq | IpcKind::PosixShm | IpcKind::PosixSem, _, Some(name)) => {
            posix_path(kind, name).is_ok_and(|p| p.exists())
        }
        _ => false,
    }
}

/// What to create, for [`create`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewObject<'a> {
    /// Kind.
    pub kind: IpcKind,
    /// SysV key (`None` = IPC_PRIVATE).
    pub key: Option<i32>,
    /// POSIX name.
    pub name: Option<&'a str>,
    /// Bytes (shm) or semaphore count / initial value (sem).
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Owner to give it, so the student may remove it.
    pub owner: Option<(u32, u32)>,
}

/// Creates an object (or finds the existing one) and hands it to `owner`.
pub(crate) fn create(o: NewObject) -> Result<(), IpcError> {
    match o.kind {
        IpcKind::Msg | IpcKind::Shm | IpcKind::Sem => {
            let key = o.key.unwrap_or(libc::IPC_PRIVATE);
            let id = sysv_get(
                o.kind,
                key,
                o.size,
                libc::IPC_CREAT | (o.mode & 0o777) as i32,
            )?;
            if let Some(owner) = o.owner {
                set_sysv_owner(o.kind, id, owner)?;
            }
            Ok(())
        }
        IpcKind::PosixMq => create_mq(o),
        IpcKind::PosixShm | IpcKind::PosixSem => create_shm_file(o),
    }
}

fn sysv_get(kind: IpcKind, key: i32, size: u64, flags: i32) -> Result<i32, IpcError> {
    // SAFETY: the *get calls take plain integers.
    let id = unsafe {
        match kind {
            IpcKind::Msg => libc::msgget(key, flags),
            IpcKind::Shm => libc::shmget(key, size as usize, flags),
            _ => libc::semget(key, size.max(1) as i32, flags),
        }
    };
    if id < 0 {
        return Err(call_err("create", key_text(key)));
    }
    Ok(id)
}

/// Gives a SysV object to the student (IPC_SET), so that IPC_RMID works for them.
fn set_sysv_owner(kind: IpcKind, id: i32, (uid, gid): (u32, u32)) -> Result<(), IpcError> {
    // SAFETY: each *_ds is plain data filled by IPC_STAT then read back by IPC_SET.
    let rc = unsafe {
        match kind {
            IpcKind::Msg => {
                let mut ds: libc::msqid_ds = std::mem::zeroed();
                libc::msgctl(id, libc::IPC_STAT, &mut ds);
                (ds.msg_perm.uid, ds.msg_perm.gid) = (uid, gid);
                libc::msgctl(id, libc::IPC_SET, &mut ds)
            }
            IpcKind::Shm => {
                let mut ds: libc::shmid_ds = std::mem::zeroed();
                libc::shmctl(id, libc::IPC_STAT, &mut ds);
                (ds.shm_perm.uid, ds.shm_perm.gid) = (uid, gid);
                libc::shmctl(id, libc::IPC_SET, &mut ds)
            }
            _ => {
                let mut ds: libc::semid_ds = std::mem::zeroed();
                libc::semctl(id, 0, libc::IPC_STAT, &mut ds as *mut libc::semid_ds);
                (ds.sem_perm.uid, ds.sem_perm.gid) = (uid, gid);
                libc::semctl(id, 0, libc::IPC_SET, &mut ds as *mut libc::semid_ds)
            }
        }
    };
    if rc != 0 {
        return Err(call_err("change the owner of", format!("{kind:?} id {id}")));
    }
    Ok(())
}

fn create_mq(o: NewObject) -> Result<(), IpcError> {
    let name = o.name.ok_or(IpcError::Missing(o.kind, "name"))?;
    posix_path(o.kind, name)?;
    let cname = CString::new(name).map_err(|_| IpcError::BadName(name.to_string()))?;
    let flags = libc::O_CREAT | libc::O_RDWR | libc::O_CLOEXEC;
    // SAFETY: with O_CREAT, mq_open reads a mode and an attr pointer (null = defaults).
    let mqd = unsafe {
        libc::mq_open(
            cname.as_ptr(),
            flags,
            o.mode as libc::mode_t,
            std::ptr::null::<libc::mq_attr>(),
        )
    };
    if mqd < 0 {
        return Err(call_err("mq_open", name));
    }
    // The mqueue descriptor is a real fd on Linux: fchmod undoes the umask and fchown
    // gives the queue away.
    // SAFETY: mqd is our descriptor.
    unsafe {
        libc::fchmod(mqd, (o.mode & 0o7777) as libc::mode_t);
        if let Some((uid, gid)) = o.owner {
            libc::fchown(mqd, uid, gid);
        }
        libc::mq_close(mqd);
    }
    Ok(())
}

/// POSIX shm via `shm_open`; a named semaphore as the file glibc's `sem_open` makes:
/// a 32-byte `sem_t` whose first word is the value (`size`).
fn create_shm_file(o: NewObject) -> Result<(), IpcError> {
    let name = o.name.ok_or(IpcError::Missing(o.kind, "name"))?;
    let path = posix_path(o.kind, name)?;
    let shm_name = match o.kind {
        IpcKind::PosixSem => format!("/{SEM_PREFIX}{}", name.trim_start_matches('/')),
        _ => format!("/{}", name.trim_start_matches('/')),
    };
    let cname = CString::new(shm_name).map_err(|_| IpcError::BadName(name.to_string()))?;
    // SAFETY: shm_open takes a valid C string and plain flags.
    let fd = unsafe {
        libc::shm_open(
            cname.as_ptr(),
            libc::O_CREAT | libc::O_RDWR | libc::O_CLOEXEC,
            o.mode,
        )
    };
    if fd < 0 {
        return Err(call_err("shm_open", name));
    }
    // SAFETY: `fd` is ours; File takes ownership and closes it.
    let file = unsafe { <fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let io_err = |source| IpcError::Call {
        op: "fill",
        what: path.display().to_string(),
        source,
    };
    if o.kind == IpcKind::PosixSem {
        let mut sem = [0u8; 32];
        sem[..4].copy_from_slice(&(o.size as u32).to_ne_bytes());
        std::os::unix::fs::FileExt::write_all_at(&file, &sem, 0).map_err(io_err)?;
    } else {
        file.set_len(o.size).map_err(io_err)?;
    }
    // shm_open applies the umask; the spec's mode is meant literally.
    let perms = <fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(o.mode & 0o7777);
    file.set_permissions(perms).map_err(io_err)?;
    if let Some((uid, gid)) = o.owner {
        std::os::unix::fs::fchown(&file, Some(uid), Some(gid)).map_err(io_err)?;
    }
    Ok(())
}

/// Sends `messages` to queue `key` without ever blocking (a full queue is an error).
pub(crate) fn msg_send(
    key: i32,
    create: bool,
    messages: &[Message],
    owner: Option<(u32, u32)>,
) -> Result<(), IpcError> {
    let id = if create {
        match sysv_get(
            IpcKind::Msg,
            key,
            0,
            libc::IPC_CREAT | libc::IPC_EXCL | 0o666,
        ) {
            Ok(id) => {
                if let Some(owner) = owner {
                    set_sysv_owner(IpcKind::Msg, id, owner)?;
                }
                id
            }
            Err(_) => sysv_get(IpcKind::Msg, key, 0, 0)?,
        }
    } else {
        sysv_id(IpcKind::Msg, key)?.ok_or_else(|| IpcError::Call {
            op: "find queue",
            what: key_text(key),
            source: io::Error::from_raw_os_error(libc::ENOENT),
        })?
    };
    for m in messages {
        let mut buf = (m.mtype as libc::c_long).to_ne_bytes().to_vec();
        buf.extend_from_slice(m.text.as_bytes());
        // SAFETY: `buf` holds an mtype followed by `text.len()` payload bytes.
        let rc = unsafe { libc::msgsnd(id, buf.as_ptr().cast(), m.text.len(), libc::IPC_NOWAIT) };
        if rc != 0 {
            return Err(call_err("msgsnd to", key_text(key)));
        }
    }
    Ok(())
}

/// Reads every message of queue `key` without blocking, in queue order. On an error the
/// messages read so far come back with it.
pub(crate) fn msg_drain(key: i32) -> (Vec<Message>, Option<IpcError>) {
    let id = match sysv_id(IpcKind::Msg, key) {
        Ok(Some(id)) => id,
        Ok(None) => {
            let source = io::Error::from_raw_os_error(libc::ENOENT);
            return (
                Vec::new(),
                Some(IpcError::Call {
                    op: "find queue",
                    what: key_text(key),
                    source,
                }),
            );
        }
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut got = Vec::new();
    let mut buf = vec![0u8; std::mem::size_of::<libc::c_long>() + MSG_BUF];
    loop {
        let flags = libc::IPC_NOWAIT | libc::MSG_NOERROR;
        // SAFETY: `buf` has room for an mtype plus MSG_BUF payload bytes.
        let n = unsafe { libc::msgrcv(id, buf.as_mut_ptr().cast(), MSG_BUF, 0, flags) };
        if n < 0 {
            let err = io::Error::last_os_error();
            let done = err.raw_os_error() == Some(libc::ENOMSG);
            let err = (!done).then(|| IpcError::Call {
                op: "msgrcv from",
                what: key_text(key),
                source: err,
            });
            return (got, err);
        }
        let (mtype, text) = buf.split_at(std::mem::size_of::<libc::c_long>());
        got.push(Message {
            mtype: libc::c_long::from_ne_bytes(mtype.try_into().unwrap_or_default()),
            text: String::from_utf8_lossy(&text[..n as usize]).into_owned(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysv_tables_parse_by_header() {
        let msg = "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n\
                   \x20     4660          3   644          12          2   77     0  1000  1000     0     0 1 0 1\n";
        let o = &parse_sysv(IpcKind::Msg, msg)[0];
        assert_eq!(
            (o.key, o.id, o.mode, o.size, o.count, o.pid, o.uid),
            (Some(4660), Some(3), 0o644, 12, 2, Some(77), 1000)
        );
        let shm = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n\
                   \x20       -1          1   600                     8  7209     0      1     0     0     0     0          0          0 1795596353                     0                     0\n";
        let o = &parse_sysv(IpcKind::Shm, shm)[0];
        assert_eq!(
            (o.key, o.mode, o.size, o.count, o.pid),
            (Some(-1), 0o600, 8, 1, Some(7209))
        );
        let sem = "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n\
                   \x20        0          5   666          3     0     0     0     0          0 1\n";
        let o = &parse_sysv(IpcKind::Sem, sem)[0];
        assert_eq!(
            (o.key, o.id, o.size, o.count, o.pid),
            (Some(0), Some(5), 3, 0, None)
        );
    }

    #[test]
    fn remove_commands_name_the_object() {
        let obj = |ipc, id: Option<i32>, name: Option<&str>| IpcObject {
            ipc,
            key: None,
            id,
            name: name.map(String::from),
            mode: 0,
            size: 0,
            uid: 0,
            count: 0,
            pid: None,
        };
        assert_eq!(
            remove_command(&obj(IpcKind::Msg, Some(3), None)),
            "ipcrm -q 3"
        );
        assert_eq!(
            remove_command(&obj(IpcKind::Sem, Some(4), None)),
            "ipcrm -s 4"
        );
        assert_eq!(
            remove_command(&obj(IpcKind::PosixMq, None, Some("/q"))),
            "rm /dev/mqueue/q"
        );
        assert_eq!(
            remove_command(&obj(IpcKind::PosixSem, None, Some("/s"))),
            "rm /dev/shm/sem.s"
        );
    }

    #[test]
    fn posix_names_must_be_single_component() {
        assert!(posix_path(IpcKind::PosixShm, "/a/b").is_err());
        assert_eq!(
            posix_path(IpcKind::PosixSem, "/s").unwrap(),
            Path::new("/dev/shm/sem.s")
        );
    }
}
