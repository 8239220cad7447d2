import Foundation
import Testing
@testable import GoatImportCore
#if canImport(Glibc)
import Glibc
#endif

/// `FollowModelTests` for container logs: a seeded sequence of writes, split records (parts
/// written in separate steps, with the follower reading in between, and across a rotation),
/// half-written wrapper lines, stderr records interleaved, the runtime's rename rotation
/// (Docker `<id>-json.log` → `.1`, the kubelet's `0.log` → `0.log.<time>`), gzip of older
/// files, copytruncate and crash-restart from the saved checkpoint, against the real
/// `FileFollower` and directory. The model: every stdout record whose last part was written is
/// handed out once, whole, in the order written; stderr records come out as stderr.
@Suite("Follow: model-based container log tests")
struct ContainerFollowModelTests {
    static let grace = 5.0

    final class World {
        let dir = FollowTempDir()
        let clock = FollowClock()
        var rng: FollowRNG
        let kind: ContainerLog
        let liveName: String
        var live: String { dir.file(liveName) }
        var statePath: String { dir.file("state/state.json") }
        let writer: ModelLogWriter
        var rawPartial: [UInt8]?                 // rest of a wrapper line half written
        var openParts: [[UInt8]] = []            // wrapper lines of a stdout record not all written
        var openSeq = 0
        var openText = ""
        var seq = 0
        var rotations = 0
        var written: [Int] = []
        var texts: [Int: String] = [:]
        var emitted: [Int] = []
        var problems: [String] = []
        var store: CheckpointStore
        var follower: FileFollower
        var log: [String] = []

        let debug: Bool

        init(seed: UInt64) throws {
            debug = ProcessInfo.processInfo.environment["FOLLOW_DEBUG"] == "\(seed)"
            rng = FollowRNG(seed: seed)
            kind = seed % 2 == 0 ? .docker : .cri
            liveName = kind == .docker ? "0f1e2d3c-json.log" : "0.log"
            store = try CheckpointStore(path: dir.file("state/state.json"), durable: false)
            writer = ModelLogWriter(live: dir.file(liveName))
            follower = FileFollower(path: dir.file(liveName), store: nil)
            follower = makeFollower(backlog: [])
        }

        func makeFollower(backlog: [CatchUpItem]) -> FileFollower {
            var o = FollowFollowerTests.options(clock, grace: ContainerFollowModelTests.grace)
            o.useInotify = rng.next() % 2 == 0
            o.container = kind
            return FileFollower(path: live, store: store, options: o, backlog: backlog)
        }

        /// One wrapper line (one part of a record) as the runtime writes it.
        func wrap(_ part: String, stderr: Bool, last: Bool) -> [UInt8] {
            let stream = stderr ? "stderr" : "stdout"
            let time = "2026-11-30T12:00:00.\(String(format: "%09d", seq))Z"
            switch kind {
            case .docker:
                let log = part.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                return Array("{\"log\":\"\(log)\(last ? "\\n" : "")\",\"stream\":\"\(stream)\",\"time\":\"\(time)\"}\n".utf8)
            default:
                return Array("\(time) \(stream) \(last ? "F" : "P") \(part)\n".utf8)
            }
        }

        /// A record's wrapper lines: its text cut into 1 to 3 parts.
        func record(_ text: String, stderr: Bool) -> [[UInt8]] {
            let chars = Array(text)
            let cuts = Int(rng.next() % 3)
            var bounds = (0..<cuts).map { _ in 1 + Int(rng.next() % UInt64(chars.count - 1)) }.sorted()
            bounds = [0] + bounds + [chars.count]
            return (0..<bounds.count - 1).map { i in
                wrap(String(chars[bounds[i]..<bounds[i + 1]]), stderr: stderr, last: i == bounds.count - 2)
            }
        }

        func newText(_ prefix: String) -> String {
            seq += 1
            let pad = String(repeating: "ab\"cd\\ef ", count: 20).prefix(Int(rng.next() % 120))
            return "\(prefix)\(seq) \(pad)"
        }

        func put(_ line: [UInt8]) {
            completeRaw()
            if rng.next() % 5 == 0 {
                let cut = 1 + Int(rng.next() % UInt64(line.count - 1))
                writer.write(Array(line[..<cut]))
                rawPartial = Array(line[cut...])
            } else {
                writer.write(line)
            }
        }

        func completeRaw() {
            guard let rest = rawPartial else { return }
            writer.write(rest)
            rawPartial = nil
        }

        /// A whole stdout record, or a stderr one (which may come between the parts of an open one).
        func writeRecord() {
            if rng.next() % 6 == 0 {
                for line in record(newText("E"), stderr: true) { put(line) }
                return
            }
            finishOpen()
            let text = newText("R")
            for line in record(text, stderr: false) { put(line) }
            written.append(seq)
            texts[seq] = text
        }

        /// Starts a split record: its first part now, the rest in later steps.
        func startSplit() {
            finishOpen()
            var parts: [[UInt8]] = []
            let text = newText("R")
            while parts.count < 2 { parts = record(text, stderr: false) }
            openSeq = seq
            openText = text
            put(parts.removeFirst())
            openParts = parts
        }

        func writePart() {
            guard !openParts.isEmpty else { return }
            put(openParts.removeFirst())
            if openParts.isEmpty { closeOpen() }
        }

        func finishOpen() {
            while !openParts.isEmpty { writePart() }
        }

        private func closeOpen() {
            written.append(openSeq)
            texts[openSeq] = openText
        }

        func pump() throws {
            while let line = try follower.next(timeout: 0) {
                let text = followText(line)
                store.update(line.checkpoint)
                if let problem = line.problem { problems.append("\(problem): \(text.prefix(60))"); continue }
                if line.stream == .stderr {
                    if !text.hasPrefix("E") { Issue.record("stdout text on stderr: \(text.prefix(40))") }
                    continue
                }
                guard text.hasPrefix("R"), let n = Int(text.dropFirst().prefix { $0 != " " }) else {
                    Issue.record("garbled record \(text.prefix(60)) at \(log.suffix(8))")
                    continue
                }
                if texts[n] != text { Issue.record("record \(n) not whole: \(text.prefix(80))") }
                emitted.append(n)
            }
        }

        func timePasses() throws {
            try pump()
            clock.now += ContainerFollowModelTests.grace + 1
            try pump()
            let unseen = !writer.fileHasLine
            for _ in 0..<Int(rng.next() % 3) { writeRecord() }
            completeRaw()
            if unseen { try pump() }
        }

        func rotatedNames() -> [String] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            return InputOrder.sorted(names.filter { $0.hasPrefix(liveName + ".") })
        }

        /// The name the live file's content goes to: Docker shifts `.1` to `.2`…, the kubelet
        /// names it after the time.
        func rotatedName() throws -> String {
            rotations += 1
            guard kind == .docker else { return String(format: "%@.20261130-12%02d%02d", liveName, rotations / 60, rotations % 60) }
            try dir.shiftRotated(of: liveName)
            return "\(liveName).1"
        }

        func renameRotate() throws {
            try timePasses()
            try writer.renameRotate(to: dir.file(try rotatedName()))
        }

        func reopen() {
            completeRaw()
            writer.reopen()
        }

        func copyTruncate() throws {
            completeRaw()
            try timePasses()
            try writer.copyTruncate(to: dir.file(try rotatedName()))
        }

        func gzipOne() {
            // Never the newest rotated file (the runtime may still write to it), as Docker and
            // the kubelet leave it.
            let candidates = rotatedNames().filter { !$0.hasSuffix(".gz") }.dropLast()
            guard let pick = candidates.randomElement(using: &rng) else { return }
            dir.gzip(pick)
        }

        func restart() throws {
            try store.save()
            follower.stop()
            store = try CheckpointStore(path: statePath, durable: false)
            let plan = try CatchUp.plan(livePath: live, store: store, from: .beginning)
            follower = makeFollower(backlog: plan)
        }

        func step() throws {
            switch rng.next() % 100 {
            case 0..<35: log.append("write"); writeRecord()
            case 35..<45: log.append("split"); startSplit()
            case 45..<58: log.append("part"); writePart()
            case 58..<64: log.append("complete"); completeRaw()
            case 64..<71 where writer.onLive: log.append("rotate"); try renameRotate()
            case 71..<78 where !writer.onLive: log.append("reopen"); reopen()
            case 71..<74 where writer.onLive && openParts.isEmpty: log.append("copytruncate"); try copyTruncate()
            case 78..<84: log.append("gzip"); gzipOne()
            case 84..<92 where writer.onLive || writer.fileHasLine: log.append("restart"); try restart()
            default: log.append("write"); writeRecord()
            }
            if rng.next() % 10 < 7 { try pump() }
            if debug {
                print("op \(log.last!) written \(written.suffix(3)) emitted \(emitted.suffix(3)) open \(openParts.count) writerOnLive \(writer.onLive) files \(dir.listing()) events \(follower.events)")
            }
        }

        func finish() throws {
            if !writer.onLive { reopen() }
            finishOpen()
            completeRaw()
            for _ in 0..<3 {
                try pump()
                clock.now += ContainerFollowModelTests.grace + 1
            }
            try pump()
        }
    }

    /// Seeds 1...200, Docker and CRI alternating; `CONTAINER_MODEL_SEEDS=3000` runs more.
    /// `FOLLOW_DEBUG=<seed>` runs that seed alone and prints every operation with the files'
    /// inodes and sizes and the follower's events.
    static let seeds: [UInt64] = ProcessInfo.processInfo.environment["FOLLOW_DEBUG"].flatMap { UInt64($0) }.map { [$0] }
        ?? Array(1...UInt64(ProcessInfo.processInfo.environment["CONTAINER_MODEL_SEEDS"].flatMap { UInt64($0) } ?? 200))

    @Test(arguments: seeds)
    func randomSequence(seed: UInt64) throws {
        let world = try World(seed: seed)
        for _ in 0..<40 { try world.step() }
        try world.finish()
        #expect(world.emitted == world.written, "seed \(seed) (\(world.kind)): ops \(world.log) events \(world.follower.events)")
        #expect(world.problems.isEmpty, "seed \(seed): \(world.problems.prefix(3))")
    }
}
