import ArgumentParser
import Foundation

/// The API key comes from the environment or a file, never from argv (where `ps` shows it).
///
/// A key file holds the key on one line; blank lines and lines starting with `#` are ignored,
/// and each line is trimmed of surrounding spaces, tabs and CR (a file edited on Windows). The
/// environment variable holds the key alone, surrounding whitespace and CR/LF trimmed. Anything
/// else (two keys, a space or control byte inside the key) is refused: sent as it is, it would be
/// an invalid header that the HTTP client prints in full. No message here contains the key.
enum APIKey {
    static let environmentVariable = "GOATCOUNTER_API_KEY"

    static func load(file: String?, environment variable: String = environmentVariable) throws -> String {
        if let file {
            var st = stat()
            guard stat(file, &st) == 0 else {
                throw ValidationError("--api-key-file \(file): \(String(cString: strerror(errno)))")
            }
            if st.st_mode & 0o077 != 0 {
                printError("goatimport: warning: \(file) can be read by other users; chmod 600 it")
            }
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("--api-key-file \(file): cannot read it")
            }
            return try fromFile(data, name: "--api-key-file \(file)")
        }
        if let value = ProcessInfo.processInfo.environment[variable] {
            let key = trimmed(Array(value.utf8)[...])
            if !key.isEmpty {
                if let problem = problem(key) { throw ValidationError("$\(variable): \(problem); set it to the key alone") }
                return String(decoding: key, as: UTF8.self)
            }
        }
        throw ValidationError("no API key: set \(variable) or pass --api-key-file PATH (a file with the key, mode 0600)")
    }

    /// The one key line of a key file.
    static func fromFile(_ data: Data, name: String) throws -> String {
        var key: (line: Int, bytes: ArraySlice<UInt8>)?
        let lines = Array(data).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, raw) in lines.enumerated() {
            let line = trimmed(raw)
            if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
            if let first = key {
                throw ValidationError("\(name): line \(index + 1): a second key (the first is on line \(first.line)); keep one key, other lines may be comments starting with #")
            }
            if let problem = problem(line) { throw ValidationError("\(name): line \(index + 1): \(problem)") }
            key = (index + 1, line)
        }
        guard let key else { throw ValidationError("\(name): no key in the file (only blank or # comment lines)") }
        return String(decoding: key.bytes, as: UTF8.self)
    }

    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = bytes
        while let b = s.first, isBlank(b) { s = s.dropFirst() }
        while let b = s.last, isBlank(b) { s = s.dropLast() }
        return s
    }

    /// Why `key` cannot be a key (GoatCounter's keys are printable ASCII), without quoting it.
    private static func problem(_ key: ArraySlice<UInt8>) -> String? {
        guard let bad = key.firstIndex(where: { $0 <= 0x20 || $0 >= 0x7F }) else { return nil }
        let what = key[bad] == 0x20 ? "a space" : key[bad] == 0x0A || key[bad] == 0x0D ? "a line break"
            : key[bad] < 0x20 || key[bad] == 0x7F ? "a control byte" : "a non-ASCII byte"
        return "the key holds \(what) at character \(bad - key.startIndex + 1); an API key is printable ASCII with no spaces"
    }
}
