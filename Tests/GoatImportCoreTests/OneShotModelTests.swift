import Foundation
import Testing
@testable import GoatImportCore

/// Model-based tests of one-shot runs (the timer's), in the style of `FollowModelTests`: a seeded
/// RNG makes a rotated set (plain and gzip files, finished files without a final newline, a
/// live log with a half-written line) and runs the real importer, batching sink and checkpoint
/// checkpoint store over it again and again. Each run's batches are acknowledged in order up to a random
/// crash point; the batch in flight at the crash may have been recorded by the server (its reply
/// lost) or not. Between runs the live log grows. The model: every line is delivered, and only
/// lines of a batch whose reply was lost are delivered twice. Batch sizes 1, 5 and 500 put batch
/// boundaries inside files and across them.
@Suite("One-shot runs: model-based checkpoint tests")
struct OneShotModelTests {
    static let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"

    static func line(_ n: Int) -> String {
        "198.51.100.\(n % 250 + 1) - - [01/Nov/2026:10:\(String(format: "%02d", n / 60 % 60)):\(String(format: "%02d", n % 60)) +0000] \"GET /s\(n) HTTP/1.1\" 200 5 \"-\" \"\(ua)\"\n"
    }

    @Test(arguments: [1, 5, 500])
    func rotatedSetWithCrashes(batchSize: Int) throws {
        for seed in UInt64(1)...12 {
            try replay(seed: seed, batchSize: batchSize)
        }
    }

    func replay(seed: UInt64, batchSize: Int) throws {
        var rng = FollowRNG(seed: seed &* 7919 &+ UInt64(batchSize))
        let dir = FollowTempDir()
        var next = 0
        var expected: Set<Int> = []
        // Rotated files, oldest first: some gzip, some without a final newline.
        let rotatedCount = Int.random(in: 0...5, using: &rng)
        var inputs: [String] = []
        for generation in stride(from: rotatedCount, through: 1, by: -1) {
            let count = Int.random(in: 1...12, using: &rng)
            var text = (next..<(next + count)).map(Self.line).joined()
            expected.formUnion(next..<(next + count))
            next += count
            if Bool.random(using: &rng) { text.removeLast() }   // finished: ends at its last byte
            let name = "access.log.\(generation)"
            dir.write(name, text)
            if generation > 1 && Bool.random(using: &rng) {
                dir.gzip(name)
                inputs.append(dir.file(name + ".gz"))
            } else {
                inputs.append(dir.file(name))
            }
        }
        inputs.append(dir.file("access.log"))
        dir.write("access.log", "")
        let store = dir.file("state/state.json")
        var delivered: [Int: Int] = [:]
        var mayRepeat: Set<Int> = []
        for run in 0..<8 {
            // The live log grows, sometimes ending in a half-written line.
            let count = Int.random(in: 0...9, using: &rng)
            dir.append("access.log", (next..<(next + count)).map(Self.line).joined())
            expected.formUnion(next..<(next + count))
            next += count
            let last = run == 7
            var half = ""
            if !last && Bool.random(using: &rng) {
                half = String(Self.line(next).prefix(40))
                dir.append("access.log", half)
            }
            let crashAfter = last ? Int.max : Int.random(in: 0...4, using: &rng)
            let lostReply = Bool.random(using: &rng)
            for (n, kind) in try oneRun(inputs, store: store, batchSize: batchSize, crashAfter: crashAfter, lostReply: lostReply) {
                delivered[n, default: 0] += 1
                if kind == .inFlight { mayRepeat.insert(n) }
            }
            if !half.isEmpty {
                dir.append("access.log", String(Self.line(next).dropFirst(40)))
                expected.insert(next)
                next += 1
            }
        }
        let missing = expected.subtracting(delivered.keys)
        #expect(missing.isEmpty, "seed \(seed), batch \(batchSize): never delivered \(missing.sorted())")
        let twice = delivered.filter { $0.value > 1 && !mayRepeat.contains($0.key) }.keys.sorted()
        #expect(twice.isEmpty, "seed \(seed), batch \(batchSize): delivered twice \(twice)")
        #expect(Set(delivered.keys).isSubset(of: expected), "nothing that was not written")
    }

    enum Delivery { case acknowledged, inFlight }

    /// One run as `ImportCommand` drives it: distinct inputs, checkpoints from the store (read
    /// from disk), the live log's half line held back; batches acknowledged in order until
    /// `crashAfter`, then the next one is in flight (recorded by the server when `lostReply`).
    func oneRun(_ given: [String], store path: String, batchSize: Int, crashAfter: Int, lostReply: Bool) throws -> [(Int, Delivery)] {
        let inputs = DistinctInputs.of(InputOrder.sorted(given)).paths
        let store = try CheckpointStore(path: path)
        var options = Importer.Options(format: try LogFormat.resolve("combined"))
        options.checkpoints = store
        let queue = BatchQueue(capacity: 1 << 20)
        _ = try Importer(options: options).run(inputs: inputs, into: BatchingSink(queue: queue, batchSize: batchSize))
        var result: [(Int, Delivery)] = []
        var acknowledged = 0
        while let batch = queue.take() {
            let hits = try Self.paths(batch)
            if acknowledged == crashAfter {
                if lostReply { result += hits.map { ($0, .inFlight) } }
                break
            }
            result += hits.map { ($0, .acknowledged) }
            try store.acknowledge(batch.checkpoints)
            acknowledged += 1
        }
        return result
    }

    static func paths(_ batch: Batch) throws -> [Int] {
        let object = try JSONSerialization.jsonObject(with: Data(bytes: batch.body.base, count: batch.body.count)) as! [String: Any]
        return (object["hits"] as! [[String: Any]]).map { Int(($0["path"] as! String).dropFirst(2))! }
    }
}
