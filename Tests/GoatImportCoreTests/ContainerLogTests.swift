import Foundation
import Testing
@testable import GoatImportCore

/// Container logs: Docker json-file and CRI lines around the real nginx fixture lines
/// (Tests/Fixtures/container, made by scripts/make-container-fixtures.py).
@Suite(.serialized)
struct ContainerLogTests {
    static let dockerID = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
    static let docker = [TestPaths.fixture("container/\(dockerID)-json.log.1"), TestPaths.fixture("container/\(dockerID)-json.log")]
    static let cri = InputOrder.sorted([TestPaths.fixture("container/0.log"), TestPaths.fixture("container/0.log.20261127-174940"),
                                        TestPaths.fixture("container/0.log.20261127-174900.gz")])
    /// The long request each fixture file holds once (split in three parts by the runtime).
    static let longPath = "/?q=" + String(repeating: "abc&", count: 9000)

    /// The hits of the plain nginx log: what the container logs must give, apart from the long line.
    static func plainHits() throws -> [String] {
        try importFiles([TestPaths.fixture("nginx/combined.log")]).sink.raw
    }

    /// A hit without its visit (drawn at random per run), cut short for readable failures.
    static func short(_ hit: String) -> String {
        String(hit.replacingOccurrences(of: #","session":"[0-9a-f]+""#, with: "", options: .regularExpression).prefix(80))
    }

    func keys(_ sink: CollectingSink) -> [String] { sink.raw.filter { !$0.contains("q=abc&abc") } }

    @Test("Docker json-file: the lines inside, escapes undone, 16 KiB parts joined, stderr counted apart, across rotation")
    func dockerFiles() throws {
        let (sink, summary) = try importFiles(Self.docker) { $0.container = .docker }
        #expect(keys(sink) == (try Self.plainHits()))
        let long = sink.hits.filter { ($0["path"] as! String).hasPrefix("/?q=") }
        #expect(long.count == 2)
        // Clipped to the server's 2048 characters, after joining and unescaping (\u0026 is &).
        #expect(long.allSatisfy { ($0["path"] as! String) == String(Self.longPath.prefix(2048)) })
        #expect(summary[.errorLog] == 4)
        #expect(summary[.malformed] == 0)
        #expect(summary.lines == 57 + 2 + 4)
    }

    @Test("CRI: P parts joined up to F, stderr apart, the kubelet's rotated 0.log.<time> (gzip too) read oldest first")
    func criFiles() throws {
        #expect(Self.cri.map { ($0 as NSString).lastPathComponent } == ["0.log.20261127-174900.gz", "0.log.20261127-174940", "0.log"])
        let (sink, summary) = try importFiles(Self.cri) { $0.container = .cri }
        #expect(keys(sink) == (try Self.plainHits()))
        #expect(sink.hits.filter { ($0["path"] as! String) == String(Self.longPath.prefix(2048)) }.count == 3)
        #expect(summary[.errorLog] == 6)
        #expect(summary[.malformed] == 0)
    }

    @Test("recognised by itself: the sample's first line says docker, cri or neither")
    func detect() throws {
        func first(_ path: String) -> [[UInt8]] { InputSample.read([path], maxLines: 3).lines }
        #expect(ContainerLog.detect(first(Self.docker[0])) == .docker)
        #expect(ContainerLog.detect(first(Self.cri[0])) == .cri)
        #expect(ContainerLog.detect(first(TestPaths.fixture("nginx/combined.log"))) == .none)
        #expect(ContainerLog.detect(first(TestPaths.fixture("caddy/access.json.log"))) == .none, "a JSON access log is not Docker's")
        #expect(ContainerLog.detect(first(TestPaths.fixture("nginx/json.log"))) == .none)
    }

    @Test("a line not in the wrapper is malformed with its file and line, and the rest is read")
    func wrongWrapper() throws {
        var reported: [(String, Int, String)] = []
        let (sink, summary) = try importFiles([Self.docker[1]]) {
            $0.container = .cri
            $0.onMalformed = { file, line, reason, _ in reported.append((file, line, reason)) }
        }
        #expect(sink.hits.isEmpty)
        #expect(summary[.malformed] == summary.lines)
        #expect(reported.first?.0 == Self.docker[1] && reported.first?.1 == 1 && reported.first?.2 == "not a CRI log line")
    }

    /// Every place the importer may put a checkpoint, as a crash would leave it: resuming there
    /// sends exactly the hits after it (none twice, none lost), also when it falls among the
    /// parts of a split line with stderr between them.
    @Test("a checkpoint never falls inside a split record: resuming from each one sends exactly the rest", arguments: [ContainerLog.docker, .cri])
    func resumeEverywhere(_ kind: ContainerLog) throws {
        let file = kind == .docker ? Self.docker[0] : Self.cri[1]
        let (all, _) = try importFiles([file]) { $0.container = kind }
        var checkpoints = all.positions.enumerated().map { (endOffset: $0.element.endOffset, line: $0.element.line, sent: $0.offset + 1) }
        for skip in all.skipped {
            let sent = all.positions.filter { $0.endOffset <= skip.position.endOffset }.count
            checkpoints.append((skip.position.endOffset, skip.position.line, sent))
        }
        // The stderr line between the long line's parts may not move the checkpoint past its first part.
        let long = all.positions[all.hits.firstIndex { ($0["path"] as! String).hasPrefix("/?q=") }!]
        #expect(all.skipped.contains { $0.reason == .errorLog && $0.position.endOffset < long.endOffset - 16384 })
        for cp in checkpoints {
            let (rest, _) = try importFiles([file]) {
                $0.container = kind
                $0.checkpoints = try checkpointStore(resuming: file, at: cp.endOffset, line: cp.line)
            }
            #expect(rest.raw.map(Self.short) == all.raw[cp.sent...].map(Self.short), "resumed at \(cp.endOffset)")
        }
    }

    @Test("a record still open at the end waits for its last part when checkpoints are kept, and is read whole in a one-shot run")
    func openAtEnd() throws {
        let dir = TestPaths.tempDir()
        let path = dir.appendingPathComponent("0.log").path
        let line = "127.0.0.1 - - [27/Nov/2026:18:49:43 +0100] \"GET /a HTTP/1.1\" 200 252 \"-\" \"Mozilla/5.0 Firefox/132.0\""
        let cut = line.index(line.startIndex, offsetBy: 40)
        try Data("2026-11-27T17:49:00.1Z stdout P \(line[..<cut])\n".utf8).write(to: URL(fileURLWithPath: path))
        let waiting = try importFiles([path]) { $0.container = .cri; $0.checkpoints = try checkpointStore() }
        #expect(waiting.sink.hits.isEmpty && waiting.summary.lines == 0)
        let oneShot = try importFiles([path]) { $0.container = .cri }
        #expect(oneShot.summary[.malformed] == 1, "half a line does not parse, and is not lost silently")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("2026-11-27T17:49:00.2Z stdout F \(line[cut...])\n".utf8))
        try handle.close()
        let whole = try importFiles([path]) { $0.container = .cri; $0.checkpoints = try checkpointStore() }
        #expect(whole.sink.hits.map { $0["path"] as! String } == ["/a"])
        #expect(whole.sink.positions.first?.line == 2)
    }

    @Test("a joined record over --max-line-length is skipped whole and counted")
    func tooLong() throws {
        // CRI parts are 16 KiB as written; the joined line is over 36 KiB.
        let (sink, summary) = try importFiles([Self.cri[2]]) { $0.container = .cri; $0.maxLineLength = 20_000 }
        #expect(!sink.hits.contains { ($0["path"] as! String).hasPrefix("/?q=") })
        #expect(summary[.tooLong] == 1)
        #expect(keys(sink).count == sink.raw.count)
        #expect(summary[.malformed] == 0, "no tail of it is read as a line of its own")
    }

    @Test("exactly once across reruns: Docker rotates between runs, a run ends between the parts of a split line")
    func reruns() throws {
        let dir = TestPaths.tempDir()
        let live = dir.appendingPathComponent("\(Self.dockerID)-json.log").path
        let state = dir.appendingPathComponent("state/state.json").path
        let server = try CheckpointRunTests.noLimits()
        func importRun() throws -> (status: Int32, stdout: String, stderr: String) {
            try run(TestPaths.binary, ["--site", server.url, "--state", state, "--batch-size", "7", live + ".1", live], environment: testEnvironment())
        }
        let expected = try importFiles(Self.docker) { $0.container = .docker }.sink.hits.map { $0["path"] as! String }
        let older = try Data(contentsOf: URL(fileURLWithPath: Self.docker[0]))
        let newer = try Data(contentsOf: URL(fileURLWithPath: Self.docker[1]))
        // The live file cut just after the first part of its long line.
        let lines = newer.split(separator: 0x0A, omittingEmptySubsequences: false)
        let firstPart = lines.firstIndex { $0.count > 16_384 }!
        let cut = lines[...firstPart].reduce(0) { $0 + $1.count + 1 }
        try older.write(to: URL(fileURLWithPath: live))
        var r = try run(TestPaths.binary, ["--site", server.url, "--state", state, live], environment: testEnvironment())
        #expect(r.status == 0, "\(r.stderr)")
        try FileManager.default.moveItem(atPath: live, toPath: live + ".1")   // Docker's rotation: a rename
        try newer.prefix(cut).write(to: URL(fileURLWithPath: live))
        r = try importRun()
        #expect(r.status == 0, "\(r.stderr)")
        let beforeLong = try server.hits().map { $0["path"] as! String }
        #expect(!beforeLong.isEmpty && beforeLong == Array(expected.prefix(beforeLong.count)))
        #expect(beforeLong.filter { $0.hasPrefix("/?q=") }.count == 1, "the split line in the live file waits for its last part")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: live))
        try handle.seekToEnd()
        try handle.write(contentsOf: newer.suffix(from: cut))
        try handle.close()
        r = try importRun()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try server.hits().map { $0["path"] as! String } == expected, "every hit once, the split line whole")
        r = try importRun()
        #expect(try server.hits().count == expected.count, "nothing twice")
    }

    @Test("check reads the access lines inside the wrapper, names the kind, and points at a line not in it by file and line")
    func checkWrapped() throws {
        for (file, kind, title) in [(Self.docker[1], ContainerLog.docker, "Docker json-file"), (Self.cri[2], .cri, "CRI (Kubernetes node)")] {
            let r = try run(TestPaths.binary, ["check", file])
            #expect(r.status == 0, "\(r.stdout)")
            #expect(r.stdout.contains("container: auto found \(kind.rawValue) log lines"))
            #expect(r.stdout.contains("container: a \(title) log: the access lines inside its wrapper were checked"), "\(r.stdout)")
            #expect(r.stdout.contains("2 stderr lines (the error log) not checked"), "\(r.stdout)")
            // Every access line inside matches: as many as the import reads apart from stderr.
            let summary = try importFiles([file]) { $0.container = kind }.summary
            let stdout = summary.lines - summary[.errorLog]
            #expect(r.stdout.contains("format combined: \(stdout) of \(stdout) lines match (100.0%)"), "\(r.stdout)")
        }
        // A line that is not in the wrapper, third in the file.
        let dir = TestPaths.tempDir()
        let path = dir.appendingPathComponent("c-json.log").path
        var lines = try String(contentsOfFile: Self.docker[1], encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        lines.insert("127.0.0.1 - - [27/Nov/2026:18:49:44 +0100] \"GET /bare HTTP/1.1\" 200 1 \"-\" \"curl/8\"", at: 2)
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let r = try run(TestPaths.binary, ["check", "--container", "docker", "--format", "combined", path])
        #expect(r.stdout.contains("\(path):3: not a Docker json-file line"), "\(r.stdout)")
        #expect(!r.stdout.contains("container: auto found"), "named, not found")
        #expect(r.stdout.contains("container: a Docker json-file log"))
    }
}
