//! Packs the shared library's relative relocations (DT_RELR) on Linux: most of
//! its dynamic relocations are pointers in OpenSSL's and Rust's constant tables,
//! and packing them takes about 0.7 MB off the library. glibc loads such
//! libraries from 2.36 on. (Android's linker reads them from API level 30; an
//! Android build adds `-Wl,-z,pack-relative-relocs` itself when its minimum
//! SDK allows.)

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs");
        println!("cargo:rustc-cdylib-link-arg=-Wl,--icf=all");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
