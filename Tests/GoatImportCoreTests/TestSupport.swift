import Foundation
@testable import GoatImportCore

/// Paths and helpers shared by the tests.
enum TestPaths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/Fixtures")
    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    /// The built `goatimport` binary (built with the tests; it sits beside the test bundle).
    static var binary: String {
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("goatimport").path,
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("goatimport").path,
            root.appendingPathComponent(".build/debug/goatimport").path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last!
    }

    static func tempDir() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("goatimport-test-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// A state file of its own, in memory only, for a one-shot run with checkpoints; with `resuming`,
/// it holds a checkpoint after `line` at `offset` of that file (its tail not checked).
func checkpointStore(resuming path: String? = nil, at offset: Int64 = 0, line: Int = 0) throws -> CheckpointStore {
    let store = try CheckpointStore(path: TestPaths.tempDir().appendingPathComponent("state.json").path, durable: false)
    if let path, let identity = try LogFile(path: path).fingerprint() {
        store.update(Checkpoint(fingerprint: identity, offset: offset, tail: "", line: line, path: path))
    }
    return store
}

/// Collects hits in memory.
final class CollectingSink: HitSink {
    let buffer = ByteBuffer()
    func bufferForNextHit(at position: LinePosition) -> ByteBuffer { buffer }
    var hits: [[String: Any]] = []
    var raw: [String] = []
    var positions: [LinePosition] = []
    var skipped: [(position: LinePosition, reason: SkipReason)] = []

    func didEncodeHit(at position: LinePosition) throws {
        let text = buffer.string
        raw.append(text)
        hits.append(try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any])
        positions.append(position)
        buffer.removeAll()
    }

    func didSkipLine(at position: LinePosition, reason: SkipReason) throws { skipped.append((position, reason)) }
    func finish() throws {}
}

/// Runs the importer on files with a format and returns the hits and summary.
func importFiles(_ paths: [String], format: String = "combined", configure: (inout Importer.Options) throws -> Void = { _ in })
    throws -> (sink: CollectingSink, summary: ImportSummary) {
    var options = Importer.Options(format: try LogFormat.resolve(format))
    try configure(&options)
    let sink = CollectingSink()
    let summary = try Importer(options: options).run(inputs: paths, into: sink)
    return (sink, summary)
}

/// Runs a command and returns its exit status, stdout and stderr.
@discardableResult
func run(_ executable: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil,
         directory: String? = nil)
    throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    // Read both pipes fully before waiting, so a large output cannot block the child.
    var outData = Data(), errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// The fixture request table: one row per request, line n of every fixture log.
struct FixtureRequest {
    let n: Int
    let method: String
    let target: String
    let uaLabel: String
    let referer: String
    let xff: String
    let host: String
    let expect: String

    static let all: [FixtureRequest] = {
        let text = try! String(contentsOfFile: TestPaths.fixture("requests.tsv"), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { line in
            let c = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return FixtureRequest(n: Int(c[0])!, method: c[1], target: c[2], uaLabel: c[3], referer: c[4], xff: c[5], host: c[6], expect: c[7])
        }
    }()
}

/// The environment for running the binary in a test: the key, and a fresh state directory so
/// that runs do not share checkpoints unless a test passes --state.
func testEnvironment(key: String = "test-key") -> [String: String] {
    var e = ProcessInfo.processInfo.environment
    e["GOATCOUNTER_API_KEY"] = key
    e["XDG_STATE_HOME"] = TestPaths.tempDir().path
    e["STATE_DIRECTORY"] = nil
    return e
}
