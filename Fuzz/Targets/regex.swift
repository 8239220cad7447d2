import GoatImportCore

/// PCRE2 formats: the built-in ones, and nginx `log_format` / Apache `LogFormat` strings
/// through their translators. With a translator the input's first line is the format string,
/// the rest the log.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    _ = FuzzImport.devNull
    let builtins = FuzzImport.builtins { if case .regex = $0 { return true } else { return false } }
    guard let (choice, bytes) = FuzzImport.pick(data, size, builtins.map(Optional.some) + [nil, nil]) else { return 0 }
    if let format = choice {
        FuzzImport.run(bytes, format: format)
        return 0
    }
    let newline = bytes.firstIndex(of: 0x0A) ?? bytes.endIndex
    let spec = String(decoding: bytes[..<newline], as: UTF8.self)
    let kind = data[0] % 2 == 0 ? "nginx:" : "apache:"
    guard let format = try? LogFormat.resolve(kind + spec) else { return 0 }
    FuzzImport.run(Array(bytes[newline...].dropFirst()), format: format)
    return 0
}
