/// Recognises requests for static files by the extension of the path (case-insensitive; the
/// query is not part of the path here).
public struct StaticFiles: Sendable {
    public static let defaultExtensions = [
        // images
        "png", "jpg", "jpeg", "gif", "webp", "avif", "svg", "svgz", "ico", "bmp", "tif", "tiff", "heic",
        // styles, scripts, source maps, wasm
        "css", "js", "mjs", "map", "wasm",
        // fonts
        "woff", "woff2", "ttf", "otf", "eot",
        // media
        "mp4", "webm", "ogg", "ogv", "oga", "mp3", "wav", "flac", "m4a", "m4v", "mov", "avi", "mkv", "vtt",
        // machine-read files
        "txt", "xml", "json", "webmanifest", "rss", "atom",
    ]

    // A small open-addressing table: Set<UInt64> hashes with SipHash, which costs more than
    // the rest of the check.
    private let table: [UInt64]
    private let mask: Int

    public init(extensions: [String] = StaticFiles.defaultExtensions) {
        let keys = extensions.compactMap { ext -> UInt64? in
            let bytes = Array(ext.lowercased().utf8)
            // The pointer is valid only inside the closure (the fuzz build's ASan caught a use after free).
            return bytes.count <= 8 && !bytes.isEmpty ? bytes.withUnsafeBufferPointer { StaticFiles.pack($0.baseAddress!, $0.count) } : nil
        }
        var size = 16
        while size < keys.count * 4 { size *= 2 }
        var table = [UInt64](repeating: 0, count: size)
        for key in keys {
            var slot = StaticFiles.slot(key, size - 1)
            while table[slot] != 0 && table[slot] != key { slot = (slot + 1) & (size - 1) }
            table[slot] = key
        }
        self.table = table
        self.mask = size - 1
    }

    @inline(__always)
    static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    @inline(__always)
    func contains(_ key: UInt64) -> Bool {
        var slot = StaticFiles.slot(key, mask)
        while true {
            let v = table[slot]
            if v == key { return true }
            if v == 0 { return false }
            slot = (slot + 1) & mask
        }
    }

    @inline(__always)
    static func pack(_ p: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
        var key: UInt64 = 0
        for i in 0..<count {
            var c = p[i]
            if c >= 0x41 && c <= 0x5A { c |= 0x20 }
            key = key << 8 | UInt64(c)
        }
        return key
    }

    @inline(__always)
    public func matches(_ p: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        // Walk back from the end to the last '.', giving up at a '/' or after 9 bytes.
        var i = count - 1
        let limit = max(0, count - 9)
        while i >= limit {
            let c = p[i]
            if c == UInt8(ascii: ".") {
                let n = count - i - 1
                return n > 0 && n <= 8 && contains(StaticFiles.pack(p + i + 1, n))
            }
            if c == UInt8(ascii: "/") { return false }
            i -= 1
        }
        return false
    }
}
