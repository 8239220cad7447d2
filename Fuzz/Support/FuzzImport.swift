import Foundation
import GoatImportCore

/// One fuzz input through the whole import pipeline, as `goatimport --dry-run FILE` reads it:
/// content sniffing (gzip or plain), line splitting, the format's parser, the pageview builder,
/// the filters, visits and the JSON encoder, with malformed lines described as `-v` shows them.
/// Hits go to /dev/null; only crashes, hangs and sanitizer reports count.
enum FuzzImport {
    nonisolated(unsafe) static var devNull: Int32 = open("/dev/null", O_WRONLY)
    /// The input as a file, rewritten for each run (one per fuzzing process).
    static let path = NSTemporaryDirectory() + "/goatimport-fuzz-\(getpid()).log"

    static func run(_ bytes: [UInt8], format: LogFormat, timeZone: String = "Europe/Amsterdam") {
        guard !bytes.isEmpty, FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { return }
        var options = Importer.Options(format: format)
        options.timeZone = (try? LogTimeZone(timeZone)) ?? .utc
        options.maxLineLength = 4096
        options.sessions = SessionTracker(secret: SessionTracker.dryRunSecret, gap: 3600)
        options.onMalformed = { _, _, reason, text in _ = reason.count + text.count }
        options.onInputError = { _ = $0.count }
        guard let importer = try? Importer(options: options) else { return }
        _ = try? importer.run(inputs: [path], into: NDJSONSink(fd: devNull))
    }

    /// The built-in formats whose parser is of one kind, in a fixed order.
    static func builtins(_ kind: (LogFormat.Body) -> Bool) -> [LogFormat] {
        BuiltinFormats.all.filter { kind($0.body) }.sorted { $0.name < $1.name }
    }

    /// The first byte picks one of `choices`; the rest is the input.
    static func pick<T>(_ data: UnsafePointer<UInt8>, _ size: Int, _ choices: [T]) -> (T, [UInt8])? {
        guard size > 1, !choices.isEmpty else { return nil }
        return (choices[Int(data[0]) % choices.count], Array(UnsafeBufferPointer(start: data + 1, count: size - 1)))
    }
}
