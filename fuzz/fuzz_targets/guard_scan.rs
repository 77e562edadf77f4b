//! Pipeline files are untrusted input to `repo-tool audit`: scanning any text or any
//! argv never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = pipeline_guard::detect::scan_shell(&text, 1);
    let argv: Vec<&str> = text.split(['\0', ' ']).collect();
    let _ = pipeline_guard::detect::scan_argv(&argv);
});
