import GoatImportCore

/// W3C extended logs (IIS, CloudFront): `#Fields:` directives and the lines they describe.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    _ = FuzzImport.devNull
    let formats = FuzzImport.builtins { if case .w3c = $0 { return true } else { return false } }
    guard let (format, bytes) = FuzzImport.pick(data, size, formats) else { return 0 }
    FuzzImport.run(bytes, format: format)
    return 0
}
