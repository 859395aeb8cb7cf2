//! libFuzzer target: [`doorstep_fuzz::case_csv`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| doorstep_fuzz::case_csv(data));
