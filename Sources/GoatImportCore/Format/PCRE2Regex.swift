import CPCRE2

/// A PCRE2 pattern compiled once (JIT where the platform allows) with one reused match-data block.
///
/// Matching is the hot path: one `pcre2_jit_match_8` per line and no allocation. A
/// `PCRE2Regex` is therefore not thread-safe; give each thread its own.
public final class PCRE2Regex {
    public let pattern: String
    private let code: OpaquePointer
    private let matchData: OpaquePointer
    private let ovector: UnsafeMutablePointer<Int>
    public let isJIT: Bool

    public struct CompileError: Error, CustomStringConvertible {
        public let pattern: String
        public let offset: Int
        public let message: String
        public var description: String { "invalid regular expression at offset \(offset): \(message)" }
    }

    public init(_ pattern: String, caseless: Bool = false, anchored: Bool = false, extended: Bool = false) throws {
        self.pattern = pattern
        var errorCode: Int32 = 0
        var errorOffset = 0
        // No PCRE2_UTF: logs are bytes, not necessarily UTF-8, and invalid sequences must still match.
        var options: UInt32 = extended ? UInt32(PCRE2_EXTENDED) : 0
        if caseless { options |= UInt32(PCRE2_CASELESS) }
        if anchored { options |= UInt32(PCRE2_ANCHORED) }
        let compiled = pattern.withCString { cs in
            pcre2_compile_8(UnsafeRawPointer(cs).assumingMemoryBound(to: UInt8.self), pattern.utf8.count,
                            options, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            throw CompileError(pattern: pattern, offset: errorOffset, message: PCRE2Regex.message(for: errorCode))
        }
        code = compiled
        // Fails where memory may not be writable and executable (systemd's
        // MemoryDenyWriteExecute=yes, prctl PR_SET_MDWE): the interpreter matches the same.
        isJIT = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0
        matchData = pcre2_match_data_create_from_pattern_8(compiled, nil)
        ovector = pcre2_get_ovector_pointer_8(matchData)
    }

    /// Whether this process can JIT-compile patterns; without, they match on the interpreter
    /// (about half as fast).
    public static let jitAvailable: Bool = (try? PCRE2Regex("a"))?.isJIT ?? false

    deinit {
        pcre2_match_data_free_8(matchData)
        pcre2_code_free_8(code)
    }

    static func message(for errorCode: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = pcre2_get_error_message_8(errorCode, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer[0..<Int(n)], as: UTF8.self) : "PCRE2 error \(errorCode)"
    }

    /// Matches the bytes; on success the group offsets are in `start(_:)`/`end(_:)`.
    @inline(__always)
    public func matches(_ base: UnsafePointer<UInt8>, _ count: Int, options: UInt32 = 0) -> Bool {
        let rc = isJIT
            ? pcre2_jit_match_8(code, base, count, 0, options, matchData, nil)
            : pcre2_match_8(code, base, count, 0, options, matchData, nil)
        return rc > 0
    }

    public func matches(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { matches($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
    }

    public func matches(_ string: String) -> Bool { matches(Array(string.utf8)) }

    /// Start offset of group `n` in the last match, or -1 when it did not take part.
    @inline(__always)
    public func start(_ n: Int) -> Int {
        let v = ovector[2 * n]
        return v == PCRE2Regex.unset ? -1 : v
    }

    @inline(__always)
    public func end(_ n: Int) -> Int { ovector[2 * n + 1] }

    private static let unset = Int(bitPattern: UInt(bitPattern: -1))

    /// Number of capture groups.
    public var captureCount: Int {
        var n: UInt32 = 0
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_CAPTURECOUNT), &n)
        return Int(n)
    }

    /// The named groups and their numbers.
    public var namedGroups: [(name: String, number: Int)] {
        var count: UInt32 = 0
        var entrySize: UInt32 = 0
        var table: UnsafePointer<UInt8>?
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMECOUNT), &count)
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMEENTRYSIZE), &entrySize)
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMETABLE), &table)
        guard let table, count > 0 else { return [] }
        var result: [(String, Int)] = []
        for i in 0..<Int(count) {
            let entry = table + i * Int(entrySize)
            let number = Int(entry[0]) << 8 | Int(entry[1])
            let name = String(cString: entry + 2)
            result.append((name, number))
        }
        return result
    }
}
