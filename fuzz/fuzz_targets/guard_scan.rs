//! Pipeline files are untrusted input to `pipeline-guard audit`: scanning any text as any
//! file kind, or any argv, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline_guard::audit::{scan_text_with, Kind};
use pipeline_guard::detect::Helpers;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = pipeline_guard::detect::scan_shell(&text, 1);
    let argv: Vec<&str> = text.split(['\0', ' ']).collect();
    let _ = pipeline_guard::detect::scan_argv(&argv);
    // The first byte picks a kind; the text is also learnt as helpers.
    let kind = Kind::ALL[usize::from(data.first().copied().unwrap_or(0)) % Kind::ALL.len()];
    let mut helpers = Helpers::default();
    helpers.learn(&text);
    let _ = scan_text_with(kind, &text, &helpers);
});
