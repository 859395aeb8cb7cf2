//! libFuzzer target: [`doorstep_fuzz::xlsform_expression`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| doorstep_fuzz::xlsform_expression(data));
