//! What PID 1 of the guest does before it can take a job, without forking a single
//! process (each fork and exec costs milliseconds under TCG): mount the kernel
//! filesystems, load the virtio modules with `finit_module`, name the virtio serial
//! ports as udev would, set the hostname, bring `lo` up; then, once a job frame has
//! arrived, set the wall clock and reseed the kernel's RNG from it (a guest restored from
//! a snapshot would otherwise have its snapshot's clock and random state).

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::protocol::BootTimes;

/// Modules `/init` leaves to the agent, one file name per line, dependencies first.
const MODULES_ORDER: &str = "/etc/modules.order";
/// Where the module files are.
const MODULES_DIR: &str = "/lib/modules";
/// How long the virtio serial ports may take to get their names from the host.
const PORT_NAMES_WAIT: Duration = Duration::from_secs(3);

/// Milliseconds since the guest kernel started its clock (`CLOCK_BOOTTIME`).
pub fn boot_clock_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into a valid timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// Brings the guest up to the point where the agent can open its port.
pub fn setup() -> BootTimes {
    let mut times = BootTimes {
        agent_start_ms: boot_clock_ms(),
        ..Default::default()
    };
    let mut warn = |w: String| times.warnings.push(w);
    let t = Instant::now();
    mount_kernel_filesystems(&mut warn);
    if let Err(e) = super::memcg::enable() {
        warn(format!("failed to set up the memory cgroups (scenarios share the guest's memory unbounded): {e}"));
    }
    let mounts = t.elapsed();
    let t = Instant::now();
    load_modules(&mut warn);
    let modules = t.elapsed();
    let t = Instant::now();
    name_ports(&mut warn);
    let ports = t.elapsed();
    set_hostname(&mut warn);
    loopback_up(&mut warn);
    std::env::set_var("PATH", "/usr/bin:/bin:/usr/sbin:/sbin");
    std::env::set_var("HOME", "/root");
    times.mounts_ms = mounts.as_millis() as u64;
    times.modules_ms = modules.as_millis() as u64;
    times.ports_ms = ports.as_millis() as u64;
    times.boot_id = fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    times.ready_ms = boot_clock_ms();
    times
}

fn c_str(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

fn mount_kernel_filesystems(warn: &mut dyn FnMut(String)) {
    let nosuid = libc::MS_NOSUID | libc::MS_NODEV;
    for (fstype, target, flags, data) in [
        ("proc", "/proc", 0, ""),
        ("sysfs", "/sys", 0, ""),
        ("devtmpfs", "/dev", 0, ""),
        ("tmpfs", "/tmp", nosuid, "mode=1777"),
        ("tmpfs", "/run", nosuid, "mode=755"),
    ] {
        let _ = fs::create_dir_all(target);
        let (src, dst, ty, opts) = (c_str(fstype), c_str(target), c_str(fstype), c_str(data));
        // SAFETY: every pointer is a valid C string alive for the call.
        let rc = unsafe {
            libc::mount(
                src.as_ptr(),
                dst.as_ptr(),
                ty.as_ptr(),
                flags,
                opts.as_ptr().cast(),
            )
        };
        let err = io::Error::last_os_error();
        // EBUSY: an /init that mounted it already.
        if rc != 0 && err.raw_os_error() != Some(libc::EBUSY) {
            warn(format!("failed to mount {fstype} on {target}: {err}"));
        }
    }
    // Mount points for POSIX shm and mqueue; the agent mounts them per IPC namespace.
    for dir in ["/dev/shm", "/dev/mqueue"] {
        if let Err(e) = fs::create_dir_all(dir) {
            warn(format!("failed to create {dir}: {e}"));
        }
    }
}

/// Loads every module of [`MODULES_ORDER`] in order; one already loaded is fine.
fn load_modules(warn: &mut dyn FnMut(String)) {
    let Ok(order) = fs::read_to_string(MODULES_ORDER) else {
        warn(format!("failed to read {MODULES_ORDER}"));
        return;
    };
    for name in order.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let path = Path::new(MODULES_DIR).join(name);
        let file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                warn(format!("failed to open {}: {e}", path.display()));
                continue;
            }
        };
        let params = c_str("");
        // SAFETY: finit_module reads the open module file and a valid C string.
        let rc =
            unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), params.as_ptr(), 0) };
        let err = io::Error::last_os_error();
        if rc != 0 && err.raw_os_error() != Some(libc::EEXIST) {
            warn(format!("failed to load {}: {err}", path.display()));
        }
    }
}

/// No udev: makes the `/dev/virtio-ports/NAME` links it would. A port's name comes from
/// the host a moment after the driver binds, so wait until every port has one.
fn name_ports(warn: &mut dyn FnMut(String)) {
    let links = Path::new("/dev/virtio-ports");
    let _ = fs::create_dir_all(links);
    let until = Instant::now() + PORT_NAMES_WAIT;
    loop {
        let named = link_named_ports(links);
        if named || Instant::now() >= until {
            if !named {
                warn("virtio serial ports still unnamed after 3 s".into());
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Links every named port; whether there was at least one port and all had a name.
fn link_named_ports(links: &Path) -> bool {
    let Ok(entries) = fs::read_dir("/sys/class/virtio-ports") else {
        return false;
    };
    let mut any = false;
    for entry in entries.flatten() {
        any = true;
        let name = fs::read_to_string(entry.path().join("name")).unwrap_or_default();
        let name = name.trim();
        if name.is_empty() {
            return false;
        }
        let target = Path::new("..").join(entry.file_name());
        let link = links.join(name);
        let _ = fs::remove_file(&link);
        let _ = std::os::unix::fs::symlink(target, link);
    }
    any
}

fn set_hostname(warn: &mut dyn FnMut(String)) {
    let name = fs::read_to_string("/etc/hostname").unwrap_or_default();
    let name = name.trim().as_bytes();
    // SAFETY: sethostname reads `len` bytes of a valid buffer.
    if !name.is_empty() && unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) } != 0 {
        warn(format!(
            "failed to set the hostname: {}",
            io::Error::last_os_error()
        ));
    }
}

/// `ip link set lo up`, with the ioctls it makes.
fn loopback_up(warn: &mut dyn FnMut(String)) {
    // SAFETY: socket takes plain integers; the descriptor is closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        warn(format!(
            "failed to bring lo up: {}",
            io::Error::last_os_error()
        ));
        return;
    }
    // SAFETY: ifreq is plain data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: both ioctls read and write the ifreq we own; fd is our socket.
    let ok = unsafe {
        libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) == 0 && {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            libc::ioctl(fd, libc::SIOCSIFFLAGS, &req) == 0
        }
    };
    if !ok {
        warn(format!(
            "failed to bring lo up: {}",
            io::Error::last_os_error()
        ));
    }
    // SAFETY: fd is the socket opened above, closed once.
    unsafe { libc::close(fd) };
}

/// `RNDADDENTROPY`: mixes bytes into the input pool and credits them.
const RNDADDENTROPY: libc::c_ulong = 0x4008_5203;
/// `RNDRESEEDCRNG`: reseeds the kernel's CRNG from the input pool now.
const RNDRESEEDCRNG: libc::c_ulong = 0x5207;

/// Mixes the job's entropy into the kernel's RNG and reseeds it, so that no two guests
/// restored from one snapshot draw the same random numbers.
pub fn reseed(entropy: &[u8]) -> Result<(), io::Error> {
    let urandom = fs::OpenOptions::new().write(true).open("/dev/urandom")?;
    #[repr(C)]
    struct RandPoolInfo {
        entropy_count: libc::c_int,
        buf_size: libc::c_int,
        buf: [u8; 64],
    }
    let mut info = RandPoolInfo {
        entropy_count: 0,
        buf_size: 0,
        buf: [0; 64],
    };
    let n = entropy.len().min(info.buf.len());
    info.buf[..n].copy_from_slice(&entropy[..n]);
    info.buf_size = n as libc::c_int;
    info.entropy_count = (n * 8) as libc::c_int;
    // SAFETY: RNDADDENTROPY reads a rand_pool_info we own, whose buf_size bytes follow.
    if unsafe { libc::ioctl(urandom.as_raw_fd(), RNDADDENTROPY, &info) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: RNDRESEEDCRNG takes no argument.
    if unsafe { libc::ioctl(urandom.as_raw_fd(), RNDRESEEDCRNG) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets `CLOCK_REALTIME` (only the wall clock: deadlines use `CLOCK_MONOTONIC`, which a
/// restore leaves continuous).
pub fn set_wall_clock(ns_since_epoch: u64) -> Result<(), io::Error> {
    let ts = libc::timespec {
        tv_sec: (ns_since_epoch / 1_000_000_000) as libc::time_t,
        tv_nsec: (ns_since_epoch % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: clock_settime reads a valid timespec.
    if unsafe { libc::clock_settime(libc::CLOCK_REALTIME, &ts) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Writes a job file, creating its parents.
pub fn write_job_file(path: &str, mode: u32, data: &[u8]) -> Result<(), io::Error> {
    use std::os::unix::fs::PermissionsExt;
    let path = Path::new(path);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, data)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}
