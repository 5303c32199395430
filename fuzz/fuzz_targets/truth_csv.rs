#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| microcue_fuzz::fuzz(microcue_fuzz::truth_csv, data));
