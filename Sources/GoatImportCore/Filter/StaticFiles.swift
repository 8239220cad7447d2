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

    private let keys: Set<UInt64>

    public init(extensions: [String] = StaticFiles.defaultExtensions) {
        keys = Set(extensions.compactMap { ext in
            let bytes = Array(ext.lowercased().utf8)
            return bytes.count <= 8 ? StaticFiles.pack(bytes.withUnsafeBufferPointer { $0.baseAddress! }, bytes.count) : nil
        })
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
                return n > 0 && keys.contains(StaticFiles.pack(p + i + 1, n))
            }
            if c == UInt8(ascii: "/") { return false }
            i -= 1
        }
        return false
    }
}
