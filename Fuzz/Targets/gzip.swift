import GoatImportCore

/// The gzip reader: any bytes that start like gzip go through inflate (multi-member, padding,
/// truncation), the rest as plain text; the combined format reads what comes out.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    _ = FuzzImport.devNull
    guard size > 0, let combined = BuiltinFormats.named("combined") else { return 0 }
    // Fuzzed bytes after a gzip magic, so that most inputs reach inflate.
    FuzzImport.run([0x1F, 0x8B] + Array(UnsafeBufferPointer(start: data, count: size)), format: combined)
    return 0
}
