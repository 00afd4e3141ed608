//! What the student's QEMU command line says, read from `/proc/PID/cmdline`. The checks
//! judge effects (QMP, the guest); this only explains a failure in the student's terms:
//! which option is missing or wrong.

/// NIC models the lab7 guest kernel (Debian's cloud flavour) has a driver for.
const SUPPORTED_NICS: &[&str] = &[
    "virtio-net-pci",
    "virtio-net",
    "virtio-net-pci-non-transitional",
];

/// A QEMU argument vector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QemuCmdline {
    args: Vec<String>,
}

impl QemuCmdline {
    /// Wraps `argv` (program first).
    pub fn new(args: Vec<String>) -> QemuCmdline {
        QemuCmdline { args }
    }

    /// The values given to `-option` (or `--option`), in order.
    pub fn values(&self, option: &str) -> Vec<&str> {
        let is = |a: &str| a.strip_prefix("--").or_else(|| a.strip_prefix('-')) == Some(option);
        self.args
            .windows(2)
            .filter(|w| is(&w[0]))
            .map(|w| w[1].as_str())
            .collect()
    }

    /// Whether `-flag` (or `--flag`) is present.
    pub fn has(&self, flag: &str) -> bool {
        self.args
            .iter()
            .any(|a| a.strip_prefix("--").or_else(|| a.strip_prefix('-')) == Some(flag))
    }

    /// Whether the grader's `-readconfig FILE` made it to QEMU.
    pub fn reads_config(&self, file: &str) -> bool {
        self.values("readconfig").contains(&file)
    }

    /// The `-device` drivers (first field or `driver=`).
    pub fn devices(&self) -> Vec<&str> {
        self.values("device").into_iter().map(driver).collect()
    }

    /// Whether a virtio balloon device is configured.
    pub fn balloon(&self) -> bool {
        self.devices()
            .iter()
            .any(|d| d.starts_with("virtio-balloon"))
    }

    /// `-smp`'s value, if given.
    pub fn smp(&self) -> Option<&str> {
        self.values("smp").last().copied()
    }

    /// Whether `-smp` leaves room for more CPUs: `maxcpus` above the boot count.
    pub fn smp_headroom(&self) -> bool {
        let Some(smp) = self.smp() else { return false };
        let mut cpus = None;
        let mut max = None;
        for (i, field) in smp.split(',').enumerate() {
            match field.split_once('=') {
                Some(("cpus", v)) => cpus = v.parse::<u32>().ok(),
                Some(("maxcpus", v)) => max = v.parse::<u32>().ok(),
                None if i == 0 => cpus = field.parse().ok(),
                _ => {}
            }
        }
        // Without a count, QEMU boots maxcpus CPUs: no room either.
        matches!((cpus.or(max), max), (Some(c), Some(m)) if m > c)
    }

    /// NIC models: `-device MODEL,netdev=…`, `-nic …,model=` (e1000 when absent), `-net nic`.
    pub fn nic_models(&self) -> Vec<String> {
        let mut models: Vec<String> = self
            .values("device")
            .into_iter()
            .filter(|d| field(d, "netdev").is_some())
            .map(|d| driver(d).to_owned())
            .collect();
        for nic in self
            .values("nic")
            .into_iter()
            .filter(|n| !n.starts_with("none"))
        {
            models.push(field(nic, "model").unwrap_or("e1000").to_owned());
        }
        for net in self
            .values("net")
            .into_iter()
            .filter(|n| n.starts_with("nic"))
        {
            models.push(field(net, "model").unwrap_or("e1000").to_owned());
        }
        models
    }

    /// Every `hostfwd=` rule of `-netdev`, `-nic` and `-net`.
    pub fn hostfwds(&self) -> Vec<&str> {
        let options = ["netdev", "nic", "net"]
            .into_iter()
            .flat_map(|o| self.values(o));
        options
            .flat_map(|v| v.split(',').filter_map(|f| f.strip_prefix("hostfwd=")))
            .collect()
    }

    /// Whether it asks for KVM (which this grader's machines cannot run).
    pub fn kvm(&self) -> bool {
        self.has("enable-kvm")
            || self.values("accel").iter().any(|a| a.starts_with("kvm"))
            || self
                .values("machine")
                .iter()
                .chain(&self.values("M"))
                .any(|m| m.contains("accel=kvm"))
    }

    /// Why the forwarded port may not answer, from the options (`None`: they look right).
    pub fn network_problem(&self, host_port: u16, guest_port: u16) -> Option<String> {
        let want = format!("hostfwd=tcp::{host_port}-:{guest_port}");
        let rules = self.hostfwds();
        if rules.is_empty() {
            return Some(format!(
                "your command line forwards no port: add {want} to the -netdev user option"
            ));
        }
        if !rules.iter().any(|r| {
            r.contains(&format!(":{host_port}-")) && r.ends_with(&format!(":{guest_port}"))
        }) {
            return Some(format!("your forwarding rule(s) {} do not forward host port {host_port} to guest port {guest_port}: use {want}", rules.join(", ")));
        }
        let models = self.nic_models();
        if models.is_empty() {
            return Some("-netdev user alone gives the guest no network card: add -device virtio-net-pci,netdev=ID (ID as in -netdev user,id=ID)".into());
        }
        if let Some(bad) = models
            .iter()
            .find(|m| !SUPPORTED_NICS.contains(&m.as_str()))
        {
            return Some(format!(
                "the guest's kernel (Debian's cloud flavour) has no driver for the {bad} network card: use -device virtio-net-pci,netdev=ID (with -nic, model=virtio-net-pci)"
            ));
        }
        None
    }

    /// The command line as one would type it (for messages).
    pub fn display(&self) -> String {
        self.args
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The driver of a `-device` value: its first field, or `driver=`.
fn driver(device: &str) -> &str {
    field(device, "driver").unwrap_or_else(|| device.split(',').next().unwrap_or(""))
}

/// The value of `key=` in a comma-separated option value.
fn field<'a>(value: &'a str, key: &str) -> Option<&'a str> {
    value
        .split(',')
        .find_map(|f| f.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=,.:/+@%".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> QemuCmdline {
        QemuCmdline::new(text.split_whitespace().map(String::from).collect())
    }

    const GOOD: &str = "qemu-system-x86_64 -nographic -m 256 -smp 1,maxcpus=4 -kernel k -initrd i \
        -netdev user,id=n0,hostfwd=tcp::20001-:8080 -device virtio-net-pci,netdev=n0 \
        -device virtio-balloon-pci -readconfig /tmp/r/qmp.cfg";

    #[test]
    fn the_reference_line_has_everything() {
        let c = line(GOOD);
        assert!(c.has("nographic") && c.balloon() && c.smp_headroom() && !c.kvm());
        assert!(c.reads_config("/tmp/r/qmp.cfg") && !c.reads_config("/other"));
        assert_eq!(c.network_problem(20001, 8080), None);
        assert_eq!(c.nic_models(), ["virtio-net-pci"]);
    }

    #[test]
    fn smp_headroom_needs_maxcpus_above_cpus() {
        for (smp, room) in [
            ("1", false),
            ("2,maxcpus=2", false),
            ("cpus=1,maxcpus=4", true),
            ("maxcpus=4", false),
            ("2,maxcpus=4", true),
        ] {
            assert_eq!(line(&format!("q -smp {smp}")).smp_headroom(), room, "{smp}");
        }
        assert!(!line("q").smp_headroom());
    }

    #[test]
    fn network_problems_are_named() {
        let p = |text: &str| line(text).network_problem(20001, 8080).unwrap_or_default();
        assert!(p("q -netdev user,id=n").contains("forwards no port"));
        assert!(p("q -netdev user,id=n,hostfwd=tcp::10022-:22")
            .contains("do not forward host port 20001"));
        assert!(p("q -netdev user,id=n,hostfwd=tcp::20001-:8080").contains("no network card"));
        assert!(
            p("q -netdev user,id=n,hostfwd=tcp::20001-:8080 -device e1000,netdev=n")
                .contains("no driver for the e1000")
        );
        assert!(
            p("q -nic user,hostfwd=tcp::20001-:8080").contains("e1000"),
            "-nic defaults to e1000"
        );
        assert_eq!(
            p("q -nic user,model=virtio-net-pci,hostfwd=tcp::20001-:8080"),
            ""
        );
    }

    #[test]
    fn kvm_and_devices_in_every_spelling() {
        assert!(
            line("q -enable-kvm").kvm()
                && line("q -accel kvm").kvm()
                && line("q -M pc,accel=kvm").kvm()
        );
        assert!(line("q --device driver=virtio-balloon-pci,id=b").balloon());
        assert!(line("q -device virtio-balloon").balloon());
        assert_eq!(
            QemuCmdline::new(vec![
                "q".into(),
                "-append".into(),
                "console=ttyS0 quiet".into()
            ])
            .display(),
            "q -append 'console=ttyS0 quiet'"
        );
    }
}
