import Foundation
import Testing
@testable import GoatImportCore

/// `--follow` on container logs end to end: the binary following a Docker json-file log and a
/// kubelet CRI log across the runtime's own rotation, against the test server. The fixtures'
/// live files hold a line the runtime split in three parts; it is written in two steps, cut
/// after its first part.
@Suite(.serialized)
struct ContainerFollowRunTests {
    let dir = TestPaths.tempDir()
    var state: String { dir.appendingPathComponent("state/state.json").path }
    let follow = FollowRunTests()

    /// The paths a one-shot import of `files` sends: what following them must send, once each.
    static func expected(_ files: [String], _ kind: ContainerLog) throws -> [String] {
        try importFiles(files) { $0.container = kind }.sink.hits.map { $0["path"] as! String }
    }

    /// `data` cut just after the first part of its split line (the first line over 16 KiB).
    static func cutInSplitLine(_ data: Data) -> (Data, Data) {
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        let firstPart = lines.firstIndex { $0.count > 16_384 }!
        let cut = lines[...firstPart].reduce(0) { $0 + $1.count + 1 }
        return (data.prefix(cut), data.suffix(from: cut))
    }

    func append(_ data: Data, to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
        try handle.close()
    }

    /// Follows `live` (holding `older`), rotates it to `rotated` as the runtime does, writes
    /// `newer` in two steps cut inside its split line, and checks every hit arrives once.
    func followAcrossRotation(live: String, rotated: String, older: String, newer: String, kind: ContainerLog) throws -> String {
        let server = try CheckpointRunTests.noLimits()
        try FileManager.default.copyItem(atPath: older, toPath: live)
        let (process, err) = try startGoatimport(["--site", server.url, "--state", state, "--follow", live], environment: follow.env)
        let first = try Self.expected([older], kind)
        #expect(try follow.waitForHits(server, first.count) == first)
        try FileManager.default.moveItem(atPath: live, toPath: rotated)
        let (head, rest) = Self.cutInSplitLine(try Data(contentsOf: URL(fileURLWithPath: newer)))
        try head.write(to: URL(fileURLWithPath: live))
        let all = try Self.expected([older, newer], kind)
        // (The long line's path is clipped to the server's limit: known by its start.)
        let beforeSplit = all[first.count...].firstIndex { $0.hasPrefix("/?q=abc&abc") }!
        let waited = try follow.waitForHits(server, beforeSplit)
        #expect(waited == Array(all.prefix(beforeSplit)), "the split line's first part waits for the rest")
        try append(rest, to: live)
        let got = try follow.waitForHits(server, all.count)
        process.terminate()
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(stderr)")
        #expect(got == all, "every hit once, in order, the split line whole")
        #expect(try server.hits().count == all.count, "nothing twice")
        return stderr
    }

    @Test("Docker json-file: <id>-json.log renamed to -json.log.1, a split line written in two steps, stderr as error-log")
    func docker() throws {
        let id = ContainerLogTests.dockerID
        let live = dir.appendingPathComponent("\(id)-json.log").path
        let stderr = try followAcrossRotation(live: live, rotated: live + ".1", older: ContainerLogTests.docker[0],
                                              newer: ContainerLogTests.docker[1], kind: .docker)
        #expect(stderr.contains("container: auto found docker log lines"))
        #expect(stderr.range(of: #"error-log +4 "#, options: .regularExpression) != nil, "\(stderr)")
    }

    @Test("CRI: the kubelet's 0.log renamed to 0.log.<time>, a split line (P, P, F) written in two steps")
    func cri() throws {
        let live = dir.appendingPathComponent("0.log").path
        let stderr = try followAcrossRotation(live: live, rotated: dir.appendingPathComponent("0.log.20261130-120000").path,
                                              older: ContainerLogTests.cri[1], newer: ContainerLogTests.cri[2], kind: .cri)
        #expect(stderr.contains("container: auto found cri log lines"))
    }
}
