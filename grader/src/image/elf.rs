//! Reads the few ELF facts the image builder needs, from 64-bit little-endian files: a
//! section's bytes (a kernel module's `.modinfo`), the program interpreter and the
//! `DT_NEEDED` libraries of an executable. No `depmod`, `modinfo` or `ldd` is needed on the
//! host, and nothing is ever executed to find them.

const PT_INTERP: u32 = 3;
const SHT_DYNAMIC: u32 = 6;
const SHT_NOBITS: u32 = 8;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;

/// Errors reading an ELF file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ElfError {
    /// Not an ELF file at all.
    #[error("failed to read ELF: no ELF magic")]
    NotElf,
    /// 32-bit or big-endian.
    #[error("failed to read ELF: only 64-bit little-endian files are supported")]
    Unsupported,
    /// A table or string points outside the file.
    #[error("failed to read ELF: {what} lies outside the file")]
    Truncated {
        /// The structure that does not fit.
        what: &'static str,
    },
}

/// A parsed view over the bytes of an ELF file.
#[derive(Debug, Clone, Copy)]
pub struct Elf<'a> {
    bytes: &'a [u8],
}

/// One section header, the fields used here.
#[derive(Debug, Clone, Copy)]
struct Section {
    name: u32,
    kind: u32,
    offset: u64,
    size: u64,
    link: u32,
}

/// Whether `bytes` start with the ELF magic.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

impl<'a> Elf<'a> {
    /// Checks the identification bytes.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ElfError> {
        if !is_elf(bytes) {
            return Err(ElfError::NotElf);
        }
        if bytes.len() < 64 {
            return Err(ElfError::Truncated {
                what: "the ELF header",
            });
        }
        if bytes[4] != 2 || bytes[5] != 1 {
            return Err(ElfError::Unsupported);
        }
        Ok(Elf { bytes })
    }

    /// The bytes of the first section called `name`, if any.
    pub fn section(&self, name: &str) -> Result<Option<&'a [u8]>, ElfError> {
        let sections = self.sections()?;
        let shstrndx = usize::from(self.u16_at(0x3e)?);
        let Some(names) = sections.get(shstrndx) else {
            return Ok(None);
        };
        for section in &sections {
            if self.string(names, section.name)? == name.as_bytes() {
                return self.contents(section).map(Some);
            }
        }
        Ok(None)
    }

    /// The program interpreter (`PT_INTERP`), e.g. `/lib64/ld-linux-x86-64.so.2`;
    /// `None` for static executables.
    pub fn interp(&self) -> Result<Option<String>, ElfError> {
        let phoff = self.u64_at(0x20)?;
        let entsize = u64::from(self.u16_at(0x36)?);
        for i in 0..u64::from(self.u16_at(0x38)?) {
            let at = to_usize(phoff + i * entsize)?;
            if self.u32_at(at)? != PT_INTERP {
                continue;
            }
            let range = self.range(self.u64_at(at + 8)?, self.u64_at(at + 32)?, "PT_INTERP")?;
            let path = self.bytes[range]
                .split(|&b| b == 0)
                .next()
                .unwrap_or_default();
            return Ok(Some(String::from_utf8_lossy(path).into_owned()));
        }
        Ok(None)
    }

    /// The `DT_NEEDED` entries (`libc.so.6`…), in file order.
    pub fn needed(&self) -> Result<Vec<String>, ElfError> {
        let sections = self.sections()?;
        let Some(dynamic) = sections.iter().find(|s| s.kind == SHT_DYNAMIC) else {
            return Ok(Vec::new());
        };
        let strtab = sections
            .get(dynamic.link as usize)
            .ok_or(ElfError::Truncated {
                what: "the .dynamic string table",
            })?;
        let mut needed = Vec::new();
        for entry in self.contents(dynamic)?.chunks_exact(16) {
            let tag = u64::from_le_bytes(entry[..8].try_into().expect("8 bytes"));
            let value = u64::from_le_bytes(entry[8..].try_into().expect("8 bytes"));
            match tag {
                DT_NULL => break,
                DT_NEEDED => {
                    let name = self.string(strtab, value.try_into().unwrap_or(u32::MAX))?;
                    needed.push(String::from_utf8_lossy(name).into_owned());
                }
                _ => {}
            }
        }
        Ok(needed)
    }

    fn sections(&self) -> Result<Vec<Section>, ElfError> {
        let shoff = self.u64_at(0x28)?;
        let entsize = u64::from(self.u16_at(0x3a)?);
        let count = u64::from(self.u16_at(0x3c)?);
        (0..count)
            .map(|i| {
                let at = to_usize(shoff + i * entsize)?;
                Ok(Section {
                    name: self.u32_at(at)?,
                    kind: self.u32_at(at + 4)?,
                    offset: self.u64_at(at + 24)?,
                    size: self.u64_at(at + 32)?,
                    link: self.u32_at(at + 40)?,
                })
            })
            .collect()
    }

    fn contents(&self, section: &Section) -> Result<&'a [u8], ElfError> {
        if section.kind == SHT_NOBITS {
            return Ok(&[]);
        }
        let range = self.range(section.offset, section.size, "a section")?;
        Ok(&self.bytes[range])
    }

    /// The NUL-terminated string at `offset` in string table `table`.
    fn string(&self, table: &Section, offset: u32) -> Result<&'a [u8], ElfError> {
        let bytes = self.contents(table)?;
        let tail = bytes
            .get(offset as usize..)
            .ok_or(ElfError::Truncated { what: "a string" })?;
        Ok(tail.split(|&b| b == 0).next().unwrap_or_default())
    }

    fn range(
        &self,
        offset: u64,
        size: u64,
        what: &'static str,
    ) -> Result<std::ops::Range<usize>, ElfError> {
        let start = to_usize(offset)?;
        let end = start
            .checked_add(to_usize(size)?)
            .ok_or(ElfError::Truncated { what })?;
        if end > self.bytes.len() {
            return Err(ElfError::Truncated { what });
        }
        Ok(start..end)
    }

    fn field<const N: usize>(&self, at: usize) -> Result<[u8; N], ElfError> {
        let bytes = self.bytes.get(at..at.saturating_add(N));
        let bytes = bytes.ok_or(ElfError::Truncated {
            what: "a header field",
        })?;
        Ok(bytes.try_into().expect("slice of length N"))
    }

    fn u16_at(&self, at: usize) -> Result<u16, ElfError> {
        self.field(at).map(u16::from_le_bytes)
    }

    fn u32_at(&self, at: usize) -> Result<u32, ElfError> {
        self.field(at).map(u32::from_le_bytes)
    }

    fn u64_at(&self, at: usize) -> Result<u64, ElfError> {
        self.field(at).map(u64::from_le_bytes)
    }
}

fn to_usize(value: u64) -> Result<usize, ElfError> {
    usize::try_from(value).map_err(|_| ElfError::Truncated { what: "an offset" })
}

/// Builds minimal ELF relocatable files for tests (sections only, like a `.ko`).
#[cfg(test)]
pub(crate) fn test_object(sections: &[(&str, &[u8])]) -> Vec<u8> {
    let mut shstrtab = vec![0u8];
    let mut names = Vec::new();
    for (name, _) in sections.iter().chain([&(".shstrtab", &[][..])]) {
        names.push(shstrtab.len() as u32);
        shstrtab.extend_from_slice(name.as_bytes());
        shstrtab.push(0);
    }
    let mut file = vec![0u8; 64];
    file[..6].copy_from_slice(b"\x7fELF\x02\x01");
    let mut headers = vec![[0u8; 64]];
    let datas = sections
        .iter()
        .map(|(_, d)| *d)
        .chain([shstrtab.as_slice()]);
    for (data, name) in datas.zip(&names) {
        let mut header = [0u8; 64];
        header[..4].copy_from_slice(&name.to_le_bytes());
        header[4..8].copy_from_slice(&1u32.to_le_bytes());
        header[24..32].copy_from_slice(&(file.len() as u64).to_le_bytes());
        header[32..40].copy_from_slice(&(data.len() as u64).to_le_bytes());
        headers.push(header);
        file.extend_from_slice(data);
    }
    let shoff = file.len() as u64;
    file[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
    file[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
    file[0x3c..0x3e].copy_from_slice(&(headers.len() as u16).to_le_bytes());
    file[0x3e..0x40].copy_from_slice(&(headers.len() as u16 - 1).to_le_bytes());
    headers.iter().for_each(|h| file.extend_from_slice(h));
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_section_by_name() {
        let file = test_object(&[(".text", b"\x90\x90"), (".modinfo", b"name=x\0")]);
        let elf = Elf::parse(&file).unwrap();
        assert_eq!(elf.section(".modinfo").unwrap(), Some(&b"name=x\0"[..]));
        assert_eq!(elf.section(".text").unwrap(), Some(&b"\x90\x90"[..]));
        assert_eq!(elf.section(".data").unwrap(), None);
        assert_eq!(elf.interp().unwrap(), None);
        assert!(elf.needed().unwrap().is_empty());
    }

    #[test]
    fn reads_the_interpreter_and_libraries_of_this_test_binary() {
        // Test binaries are dynamically linked against glibc on the supported hosts.
        let bytes = std::fs::read("/proc/self/exe").unwrap();
        let elf = Elf::parse(&bytes).unwrap();
        let interp = elf.interp().unwrap().expect("a dynamic executable");
        assert!(interp.contains("ld-linux"), "{interp}");
        assert!(elf
            .needed()
            .unwrap()
            .iter()
            .any(|l| l.starts_with("libc.so")));
        assert!(elf.section(".text").unwrap().is_some_and(|t| !t.is_empty()));
    }

    #[test]
    fn refuses_garbage() {
        assert_eq!(Elf::parse(b"#!/bin/sh\n").unwrap_err(), ElfError::NotElf);
        assert!(matches!(
            Elf::parse(b"\x7fELF\x02\x01"),
            Err(ElfError::Truncated { .. })
        ));
        let mut file = test_object(&[(".modinfo", b"x")]);
        file[4] = 1;
        assert_eq!(Elf::parse(&file).unwrap_err(), ElfError::Unsupported);
        let mut file = test_object(&[(".modinfo", b"x")]);
        let len = file.len();
        file[0x28..0x30].copy_from_slice(&(len as u64).to_le_bytes());
        assert!(Elf::parse(&file).unwrap().section(".modinfo").is_err());
    }
}
