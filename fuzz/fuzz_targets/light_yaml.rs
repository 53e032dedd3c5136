#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(e) = otel_lsp_fuzz::light_yaml(data) {
        panic!("light_yaml: {e}");
    }
});
