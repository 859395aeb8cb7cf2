//! The uniffi bindings generator, built with this crate's uniffi version so the
//! generated Kotlin and Swift always match the library (`scripts/bindings`).

fn main() {
    uniffi::uniffi_bindgen_main()
}
