import Foundation

/// One row of a GoatCounter export (CSV format version 2): the recorded pageview.
public struct ExportRow: Sendable, Equatable {
    public var path: String
    public var title: String
    public var event: Bool
    public var userAgent: String
    public var session: String
    public var bot: Int
    public var referrer: String
    public var firstVisit: Bool
    /// RFC 3339 UTC to the second, as the export writes it: `2026-11-27T15:00:23Z`.
    public var date: String

    /// `2026-11-27`.
    public var day: String { String(date.prefix(10)) }
}

public enum ExportCSVError: Error, CustomStringConvertible, Equatable {
    case notGzip
    case badGzip(String)
    case noHeader
    case missingColumn(String)
    case unsupportedVersion(String)

    public var description: String {
        switch self {
        case .notGzip: return "the export download is not gzip"
        case .badGzip(let s): return "the export download does not decompress: \(s)"
        case .noHeader: return "the export is empty (no header line)"
        case .missingColumn(let c): return "the export has no \(c) column"
        case .unsupportedVersion(let v): return "export format version \(v) is not known (goatimport reads version 2)"
        }
    }
}

/// Reads the gzipped CSV of `GET /api/v0/export/{id}/download`.
public enum ExportCSV {
    /// Gunzips with the importer's own zlib reader (multi-member files included).
    public static func gunzip(_ data: Data) throws -> Data {
        guard data.count >= 2, data[data.startIndex] == 0x1F, data[data.startIndex + 1] == 0x8B else {
            throw ExportCSVError.notGzip
        }
        let source = GzipSource(inner: DataSource(data, name: "export"))
        var out = Data()
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: 64 * 1024, alignment: 1)
        defer { chunk.deallocate() }
        do {
            while true {
                let n = try source.read(into: chunk, capacity: 64 * 1024)
                if n == 0 { break }
                out.append(chunk.assumingMemoryBound(to: UInt8.self), count: n)
            }
        } catch { throw ExportCSVError.badGzip("\(error)") }
        return out
    }

    public static func parse(gzipped data: Data) throws -> [ExportRow] { try parse(csv: try gunzip(data)) }

    /// The header's first name carries the format version glued to it (`2Path`).
    public static func parse(csv data: Data) throws -> [ExportRow] {
        let records = CSVReader.records(Array(data))
        guard var header = records.first, !header.isEmpty else { throw ExportCSVError.noHeader }
        let version = String(header[0].prefix { $0.isNumber })
        if !version.isEmpty && version != "2" { throw ExportCSVError.unsupportedVersion(version) }
        header[0] = String(header[0].dropFirst(version.count))
        func column(_ name: String) throws -> Int {
            guard let i = header.firstIndex(of: name) else { throw ExportCSVError.missingColumn(name) }
            return i
        }
        let path = try column("Path"), date = try column("Date")
        let optional = { (name: String) in header.firstIndex(of: name) }
        let title = optional("Title"), event = optional("Event"), ua = optional("UserAgent"), session = optional("Session")
        let bot = optional("Bot"), ref = optional("Referrer"), first = optional("FirstVisit")
        return records.dropFirst().compactMap { r in
            if r.count == 1 && r[0].isEmpty { return nil }   // a blank line
            func at(_ i: Int?) -> String { guard let i, i < r.count else { return "" }; return r[i] }
            // Real servers write booleans as 1 and 0 (2.7.0) or true and false.
            func flag(_ i: Int?) -> Bool { ["1", "true"].contains(at(i)) }
            return ExportRow(path: at(path), title: at(title), event: flag(event), userAgent: at(ua),
                             session: at(session), bot: Int(at(bot)) ?? 0, referrer: at(ref),
                             firstVisit: flag(first), date: at(date))
        }
    }
}

/// RFC 4180 CSV as Go's `encoding/csv` writes it: quoted fields with `""` for a quote, and
/// newlines (`\n` or `\r\n`) inside quotes.
enum CSVReader {
    static func records(_ bytes: [UInt8]) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field: [UInt8] = []
        var inQuotes = false
        var i = 0
        let n = bytes.count
        func endField() { record.append(String(decoding: field, as: UTF8.self)); field.removeAll(keepingCapacity: true) }
        while i < n {
            let b = bytes[i]
            if inQuotes {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < n && bytes[i + 1] == UInt8(ascii: "\"") { field.append(b); i += 2; continue }
                    inQuotes = false
                } else {
                    field.append(b)
                }
                i += 1
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inQuotes = true
            case UInt8(ascii: ","): endField()
            case UInt8(ascii: "\r") where i + 1 < n && bytes[i + 1] == UInt8(ascii: "\n"): break
            case UInt8(ascii: "\n"):
                endField()
                records.append(record)
                record.removeAll()
            default: field.append(b)
            }
            i += 1
        }
        if !field.isEmpty || !record.isEmpty { endField(); records.append(record) }
        return records
    }
}

/// A `ByteSource` over bytes in memory.
final class DataSource: ByteSource {
    private let data: Data
    private var offset = 0
    let name: String

    init(_ data: Data, name: String) {
        self.data = data
        self.name = name
    }

    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        let n = min(capacity, data.count - offset)
        guard n > 0 else { return 0 }
        data.withUnsafeBytes { raw in
            buffer.copyMemory(from: raw.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }
}
