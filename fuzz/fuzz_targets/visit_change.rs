//! libFuzzer target: [`doorstep_fuzz::visit_change`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| doorstep_fuzz::visit_change(data));
