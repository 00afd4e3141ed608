//! The QEMU command line, built from named parts so that every guest the grader starts
//! (the scenario guest, lab 7's probe guest, the KVM probe) says the same thing the same
//! way: accelerator, machine, memory, kernel and initrd, console, the virtio serial ports
//! the agent talks through.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Command;

use super::Accel;

/// A QEMU command line under construction.
#[derive(Debug, Clone, Default)]
pub struct QemuLine {
    args: Vec<OsString>,
    serial_ports: usize,
}

impl QemuLine {
    /// An empty line (QEMU's defaults).
    pub fn new() -> QemuLine {
        QemuLine::default()
    }

    /// The grader's own guest: the accelerator, `-M pc` (`microvm` hangs now and then at
    /// timer calibration), only the devices named later (`-nodefaults`, no user config,
    /// no VGA/floppy/CD to probe), `vcpus` CPUs, no network, no display or monitor, and
    /// `-no-reboot` so that a guest panic (`panic=-1`) ends QEMU instead of looping.
    pub fn grader_guest(accel: Accel, memory_mb: u32, vcpus: u32) -> QemuLine {
        let mut line = QemuLine::new();
        match accel {
            Accel::Tcg => line.args(["-accel", "tcg"]),
            Accel::Kvm => line.args(["-accel", "kvm", "-cpu", "host"]),
        };
        line.args(["-M", "pc", "-nodefaults", "-no-user-config"])
            .memory(memory_mb)
            .args(["-smp".to_owned(), vcpus.max(1).to_string()])
            .args(["-nic", "none", "-no-reboot"])
            .args(["-display", "none", "-monitor", "none"]);
        line
    }

    /// Plain arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut QemuLine
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// `-m MB`.
    pub fn memory(&mut self, mb: u32) -> &mut QemuLine {
        self.args(["-m".to_owned(), mb.to_string()])
    }

    /// `-kernel`, `-initrd` and `-append`.
    pub fn boot(&mut self, kernel: &Path, initrd: &Path, append: &str) -> &mut QemuLine {
        self.args(["-kernel".as_ref(), kernel.as_os_str()])
            .args(["-initrd".as_ref(), initrd.as_os_str()])
            .args(["-append", append])
    }

    /// The first serial port (the kernel's `console=ttyS0`) written to a file.
    pub fn console_file(&mut self, path: &Path) -> &mut QemuLine {
        self.args(["-serial".to_owned(), format!("file:{}", path.display())])
    }

    /// `-nographic`: the console and the human monitor multiplexed on stdio.
    pub fn nographic(&mut self) -> &mut QemuLine {
        self.args(["-nographic"])
    }

    /// A virtio serial port named `name` (the guest's `/dev/virtio-ports/NAME`) whose
    /// bytes go to the host file `path`, byte-exact (unlike the console).
    pub fn port_to_file(&mut self, name: &str, path: &Path) -> &mut QemuLine {
        if self.serial_ports == 0 {
            self.args(["-device", "virtio-serial-pci"]);
        }
        self.serial_ports += 1;
        let id = format!("port{}", self.serial_ports);
        self.args([
            "-chardev".to_owned(),
            format!("file,id={id},path={}", escape_option(path)),
        ])
        .args([
            "-device".to_owned(),
            format!("virtserialport,chardev={id},name={name}"),
        ])
    }

    /// A virtio serial port named `name` connected to the host through a socket QEMU
    /// inherits as descriptor `fd` (one end of a socketpair), both ways: the host writes
    /// the job frame, the agent its events.
    pub fn port_to_fd(&mut self, name: &str, fd: i32) -> &mut QemuLine {
        if self.serial_ports == 0 {
            self.args(["-device", "virtio-serial-pci"]);
        }
        self.serial_ports += 1;
        let id = format!("port{}", self.serial_ports);
        self.args(["-chardev".to_owned(), format!("socket,id={id},fd={fd}")])
            .args([
                "-device".to_owned(),
                format!("virtserialport,chardev={id},name={name}"),
            ])
    }

    /// Guest RAM backed by the file `path`: `shared` maps it `MAP_SHARED` (the guest
    /// writes the file: how a snapshot's memory is made), otherwise `MAP_PRIVATE` (the
    /// guest starts from the file's content and its writes stay its own: how every
    /// restored guest maps one snapshot without touching it).
    pub fn ram_file(&mut self, memory_mb: u32, path: &Path, shared: bool) -> &mut QemuLine {
        let share = if shared { "on" } else { "off" };
        self.args([
            "-object".to_owned(),
            format!(
                "memory-backend-file,id=ram0,size={memory_mb}M,mem-path={},share={share}",
                escape_option(path)
            ),
            "-machine".to_owned(),
            "memory-backend=ram0".to_owned(),
        ])
    }

    /// A QMP monitor on the inherited socket descriptor `fd`.
    pub fn qmp_fd(&mut self, fd: i32) -> &mut QemuLine {
        self.args([
            "-chardev".to_owned(),
            format!("socket,id=qmp,fd={fd}"),
            "-mon".to_owned(),
            "chardev=qmp,mode=control".to_owned(),
        ])
    }

    /// The arguments so far.
    pub fn as_args(&self) -> &[OsString] {
        &self.args
    }

    /// A command running `qemu` with this line.
    pub fn command(&self, qemu: &Path) -> Command {
        let mut command = Command::new(qemu);
        command.args(&self.args);
        command
    }
}

/// QEMU option values use `,` as separator; a literal comma is written `,,`.
pub fn escape_option(path: &Path) -> String {
    path.display().to_string().replace(',', ",,")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(line: &QemuLine) -> Vec<String> {
        let args = line.as_args().iter();
        args.map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn ports_share_one_controller_and_escape_commas() {
        let mut line = QemuLine::new();
        line.port_to_file("results", Path::new("/tmp/a,b/r"))
            .port_to_file("job", Path::new("/tmp/j"));
        let args = strings(&line);
        assert_eq!(args.iter().filter(|a| *a == "virtio-serial-pci").count(), 1);
        assert!(args.contains(&"file,id=port1,path=/tmp/a,,b/r".to_owned()));
        assert!(args.contains(&"virtserialport,chardev=port2,name=job".to_owned()));
    }

    #[test]
    fn snapshot_parts_name_their_descriptors_and_memory_file() {
        let mut line = QemuLine::new();
        line.port_to_fd("results", 5)
            .ram_file(256, Path::new("/c/a,b/ram"), false)
            .qmp_fd(7);
        let args = strings(&line);
        assert!(args.contains(&"socket,id=port1,fd=5".to_owned()));
        assert!(args.contains(&"virtserialport,chardev=port1,name=results".to_owned()));
        assert!(args.contains(
            &"memory-backend-file,id=ram0,size=256M,mem-path=/c/a,,b/ram,share=off".to_owned()
        ));
        assert!(args
            .windows(2)
            .any(|w| w == ["-machine", "memory-backend=ram0"]));
        assert!(args.contains(&"socket,id=qmp,fd=7".to_owned()));
    }

    #[test]
    fn the_grader_guest_names_its_accelerator_and_memory() {
        let args = strings(&QemuLine::grader_guest(Accel::Kvm, 192, 1));
        assert!(args.windows(2).any(|w| w == ["-accel", "kvm"]));
        assert!(args.windows(2).any(|w| w == ["-m", "192"]));
        assert!(args.windows(2).any(|w| w == ["-nic", "none"]));
    }
}
