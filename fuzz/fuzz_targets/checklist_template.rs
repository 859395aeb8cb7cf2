//! libFuzzer target: [`doorstep_fuzz::checklist_template`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| doorstep_fuzz::checklist_template(data));
