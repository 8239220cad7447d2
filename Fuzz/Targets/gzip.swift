import GoatImportCore

/// The gzip reader: any bytes that start like gzip go through inflate (multi-member, padding,
/// truncation), the rest as plain text; the combined format reads what comes out. The same
/// bytes are then inflated whole and a few bytes at a time, and must agree (a trap otherwise).
/// ISA-L's own header parsing once lost a member's first deflate bytes when a header came in
/// pieces; its buffer of decoded bytes once lost them when reads were small.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    _ = FuzzImport.devNull
    guard size > 0, let combined = BuiltinFormats.named("combined") else { return 0 }
    // Fuzzed bytes after a gzip magic, so that most inputs reach inflate.
    let bytes: [UInt8] = [0x1F, 0x8B] + Array(UnsafeBufferPointer(start: data, count: size))
    FuzzImport.run(bytes, format: combined)
    let whole = inflate(bytes, step: bytes.count)
    let pieces = inflate(bytes, step: 1 + Int(data[0] % 13))
    // A clean stream gives the same bytes however it arrives. A damaged or cut one fails the
    // same way, and one output is the start of the other: where inflate notices the damage or
    // the end may move by a symbol with the pieces (zlib's does too), never what it decoded.
    let agree = whole.error == nil
        ? pieces.error == nil && whole.out == pieces.out
        : kind(whole.error) == kind(pieces.error) && (whole.out.starts(with: pieces.out) || pieces.out.starts(with: whole.out))
    if !agree {
        fatalError("gzip: reads of \(1 + Int(data[0] % 13)) bytes gave \(pieces.out.count) bytes and \(pieces.error ?? "no error"); whole, \(whole.out.count) and \(whole.error ?? "no error")")
    }
    return 0
}

func kind(_ error: String?) -> String {
    guard let error else { return "none" }
    return error.contains("truncated") ? "truncated" : "corrupt"
}

/// Everything `GzipSource` gives for `bytes` handed over `step` bytes at a time, and its error.
func inflate(_ bytes: [UInt8], step: Int) -> (out: [UInt8], error: String?) {
    let source = GzipSource(inner: MemorySource(bytes, step: step, name: "fuzz"))
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 977)    // odd, so output edges fall anywhere too
    while true {
        do {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0.baseAddress!, capacity: $0.count) }
            if n == 0 { return (out, nil) }
            out += buffer[..<n]
        } catch {
            return (out, "\(error)")
        }
    }
}
