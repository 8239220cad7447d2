import GoatImportCore

/// PCRE2 formats: the built-in ones, and nginx `log_format` / Apache `LogFormat` strings
/// through their translators. With a translator the input's first line is the format string,
/// the rest the log. Where the format's parser scans instead of running PCRE2, every line must
/// also give the fields PCRE2 gives (a trap otherwise).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    _ = FuzzImport.devNull
    let builtins = FuzzImport.builtins { if case .regex = $0 { return true } else { return false } }
    guard let (choice, bytes) = FuzzImport.pick(data, size, builtins.map(Optional.some) + [nil, nil]) else { return 0 }
    if let format = choice {
        FuzzImport.run(bytes, format: format)
        compareWithPCRE2(bytes, format: format)
        return 0
    }
    let newline = bytes.firstIndex(of: 0x0A) ?? bytes.endIndex
    let spec = String(decoding: bytes[..<newline], as: UTF8.self)
    let kind = data[0] % 2 == 0 ? "nginx:" : "apache:"
    guard let format = try? LogFormat.resolve(kind + spec) else { return 0 }
    FuzzImport.run(Array(bytes[newline...].dropFirst()), format: format)
    compareWithPCRE2(Array(bytes[newline...].dropFirst()), format: format)
    return 0
}

/// The scanner against PCRE2 on each line: matched or not, each field's span, the match's end.
func compareWithPCRE2(_ bytes: [UInt8], format: LogFormat) {
    guard case .regex(let segments, let extended) = format.body,
          let scanned = try? RegexLineParser(pattern: segments.joined(separator: extended ? "\n" : ""), extended: extended,
                                             escapes: format.escapes),
          scanned.scans,
          let pcre = try? RegexLineParser(pattern: segments.joined(separator: extended ? "\n" : ""), extended: extended,
                                          escapes: format.escapes, scanning: false) else { return }
    let a = ParsedFields(), b = ParsedFields()
    for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
        line.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!
            let matched = scanned.parse(base, buffer.count, into: a)
            precondition(matched == pcre.parse(base, buffer.count, into: b), "scanner and PCRE2 disagree on a match")
            guard matched else { return }
            precondition(scanned.matchEnd == pcre.matchEnd, "scanner and PCRE2 end the match apart")
            for field in LogField.allCases {
                precondition(a.start(field) == b.start(field) && a.end(field) == b.end(field), "scanner and PCRE2 disagree on \(field)")
            }
        }
    }
}
