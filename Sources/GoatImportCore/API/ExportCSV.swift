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
    case badRow(line: Int, String)

    public var description: String {
        switch self {
        case .notGzip: return "the export download is not gzip"
        case .badGzip(let s): return "the export download does not decompress: \(s)"
        case .noHeader: return "the export is empty (no header line)"
        case .missingColumn(let c): return "the export has no \(c) column"
        case .unsupportedVersion(let v): return "export format version \(v) is not known (goatimport reads version 2)"
        case .badRow(let line, let problem): return "the export's line \(line) is not CSV: \(problem)"
        }
    }
}

/// Reads the gzipped CSV of `GET /api/v0/export/{id}/download`.
public enum ExportCSV {
    /// Gunzips with the importer's own gzip reader (multi-member files included).
    public static func gunzip(_ data: Data) throws -> Data {
        guard data.count >= 2, data[data.startIndex] == 0x1F, data[data.startIndex + 1] == 0x8B else {
            throw ExportCSVError.notGzip
        }
        let source = GzipSource(inner: MemorySource(data, name: "export"))
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

    /// Reads with the import's own record splitter (rows may span lines). The header's first
    /// name carries the format version glued to it (`2Path`). Real servers write booleans as
    /// `1`/`0`; `true` is read too.
    public static func parse(csv data: Data) throws -> [ExportRow] {
        let records = CSVRecordReader(lines: LineReader(source: MemorySource(data, name: "export"), readSize: 1 << 16,
                                                        maxLineLength: 1 << 20), maxRecordLength: 1 << 20)
        let fields = CSVFields()
        var rows: [ExportRow] = []
        var columns: [String: Int] = [:]
        while let record = try records.next() {
            if let problem = fields.split(record.base, record.count) {
                throw ExportCSVError.badRow(line: records.firstLine, problem)
            }
            if columns.isEmpty {
                var names = (0..<fields.count).map { fields.string($0) }
                let version = String(names[0].prefix { $0.isNumber })
                if version.isEmpty && names == [""] { throw ExportCSVError.noHeader }
                if !version.isEmpty && version != "2" { throw ExportCSVError.unsupportedVersion(version) }
                names[0] = String(names[0].dropFirst(version.count))
                for (i, name) in names.enumerated() { columns[name] = i }
                for required in ["Path", "Date"] where columns[required] == nil { throw ExportCSVError.missingColumn(required) }
                continue
            }
            if fields.count == 1 && fields.field(0).isEmpty { continue }   // a blank line
            func at(_ name: String) -> String { columns[name].map { fields.string($0) } ?? "" }
            func flag(_ name: String) -> Bool { let v = at(name); return v == "1" || v == "true" }
            rows.append(ExportRow(path: at("Path"), title: at("Title"), event: flag("Event"), userAgent: at("UserAgent"),
                                  session: at("Session"), bot: Int(at("Bot")) ?? 0, referrer: at("Referrer"),
                                  firstVisit: flag("FirstVisit"), date: at("Date")))
        }
        if columns.isEmpty { throw ExportCSVError.noHeader }
        return rows
    }
}

