//! libFuzzer target: [`doorstep_fuzz::push_body`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| doorstep_fuzz::push_body(data));
