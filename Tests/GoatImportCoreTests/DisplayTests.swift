import Foundation
import Testing
@testable import GoatImportCore
#if canImport(Glibc)
import Glibc
#endif

/// A pseudo-terminal `columns` wide; the child gets the slave side as its stderr.
final class PseudoTerminal {
    let master: Int32
    let slave: Int32

    init(columns: UInt16, rows: UInt16 = 24) {
        // (pty.h is not in Swift's Glibc module; openpty is in glibc itself since 2.34.)
        typealias OpenPTY = @convention(c) (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>,
                                            UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?) -> Int32
        let openpty = unsafeBitCast(dlsym(dlopen(nil, RTLD_NOW), "openpty")!, to: OpenPTY.self)
        var m: Int32 = -1, s: Int32 = -1
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        precondition(withUnsafeMutablePointer(to: &size) { openpty(&m, &s, nil, nil, $0) } == 0, "openpty failed")
        master = m
        slave = s
    }

    /// Everything the child draws until it has exited and closed the terminal (EIO on Linux).
    func readAll() -> String {
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(master, &buffer, buffer.count)
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    deinit { close(master) }
}

/// What a terminal shows line by line: each `\r` or `\n` starts the text again; erase-to-end
/// sequences dropped.
func drawnSegments(_ output: String) -> [String] {
    output.replacingOccurrences(of: "\u{1B}[K", with: "")
        .split(omittingEmptySubsequences: true) { $0 == "\r" || $0 == "\n" || $0 == "\r\n" }.map(String.init)
}

@Suite("Display: status line, systemd notification, journal priorities")
struct DisplayTests {
    let bin = TestPaths.binary
    let example = TestPaths.root.appendingPathComponent("examples/access.log").path

    @Test("on a 50-column terminal the bar stays through rate-limit waits, counts down each second and never wraps")
    func narrowTerminalCountdown() throws {
        // 2 requests per 3 s: each window ends in a wait of about 3 s.
        let server = try TestServer(["--ratelimit", "api-count:2/3", "--ratelimit", "api:none"])
        let tty = PseudoTerminal(columns: 50)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = ["--site", server.url, "--batch-size", "20", "--no-state", example]
        process.environment = testEnvironment().filter { $0.key != "NOTIFY_SOCKET" && $0.key != "JOURNAL_STREAM" }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(fileDescriptor: tty.slave, closeOnDealloc: true)
        try process.run()
        close(tty.slave)   // the child's copy keeps it open; reading ends when the child is gone
        let output = tty.readAll()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")

        // The status line, not the messages and summary (lines that start with the name).
        let status = drawnSegments(output).filter { $0.contains(" sent") && !$0.hasPrefix("goatimport:") }
        #expect(status.count >= 3, "a status line was drawn: \(output)")
        for s in status { #expect(s.count <= 49, "fits 50 columns: \(s)") }
        let waits = status.filter { $0.contains("wait") }
        #expect(waits.allSatisfy { $0.hasPrefix("[") && $0.contains("%") }, "the bar stays during waits: \(waits)")
        // One wait drawn at least twice with falling seconds: a countdown.
        let seconds = waits.compactMap { s -> Int? in
            guard let r = s.range(of: "wait ") ?? s.range(of: "waiting ") else { return nil }
            return Int(s[r.upperBound...].prefix { $0.isNumber })
        }
        #expect(zip(seconds, seconds.dropFirst()).contains { $0 > $1 }, "counts down: \(seconds)")
        #expect(status.contains { $0.contains(" left") }, "an estimate of the time left: \(status)")
        #expect(output.contains("hits sent in"), "the summary follows the line")
    }

    @Test("output that is not a terminal gets no control characters")
    func pipeHasNoControlCharacters() throws {
        let server = try TestServer(["--ratelimit", "api-count:2/3", "--ratelimit", "api:none"])
        let r = try run(bin, ["--site", server.url, "--batch-size", "40", "--no-state", example], environment: testEnvironment())
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("\r") && !r.stderr.contains("\u{1B}"), "\(r.stderr)")
        #expect(r.stderr.contains("waiting"), "waits are logged as lines")
    }

    @Test("STATUS= and READY=1 while following, STOPPING=1 on SIGTERM, through a real datagram socket")
    func serviceNotification() throws {
        let dir = TestPaths.tempDir()
        let log = dir.appendingPathComponent("access.log").path
        try String(contentsOfFile: example, encoding: .utf8).write(toFile: log, atomically: true, encoding: .utf8)
        let socketPath = dir.appendingPathComponent("notify").path
        let listener = try DatagramListener(path: socketPath)
        let server = try CheckpointRunTests.noLimits()
        var environment = testEnvironment()
        environment["NOTIFY_SOCKET"] = socketPath
        let (process, _) = try startGoatimport(["--site", server.url, "--state", dir.appendingPathComponent("state.json").path,
                                                "--follow", log], environment: environment)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var messages: [String] = []
        messages += listener.receive(until: { $0.contains { $0.hasPrefix("STATUS=") && $0.contains("hits sent") && !$0.contains(" 0 hits") } })
        #expect(messages.contains("READY=1"), "\(messages)")
        let status = try #require(messages.last { $0.hasPrefix("STATUS=") })
        #expect(status.hasPrefix("STATUS=following 1 log, "), "\(status)")
        #expect(status.contains("waiting for new lines") || status.contains("waiting "), "\(status)")
        kill(process.processIdentifier, SIGTERM)
        messages += listener.receive(until: { $0.contains("STOPPING=1") })
        process.waitUntilExit()
        #expect(messages.contains("STOPPING=1"), "\(messages)")
    }

    @Test("a socket in the abstract namespace (@name)")
    func abstractNotifySocket() throws {
        let name = "goatimport-test-\(UUID().uuidString)"
        let listener = try DatagramListener(abstract: name)
        let notifier = try #require(ServiceNotifier(environment: ["NOTIFY_SOCKET": "@" + name]))
        notifier.ready()
        notifier.status("two\nlines")
        let got = listener.receive(until: { $0.count >= 2 })
        #expect(got == ["READY=1", "STATUS=two lines"])
        #expect(ServiceNotifier(environment: [:]) == nil)
    }

    @Test("syslog priority prefixes only when stderr is the journal's stream")
    func journalPriorities() throws {
        for journal in [true, false] {
            var st = stat()
            var environment = testEnvironment()
            for (arguments, want) in [(["--dry-run", example], "<6>goatimport: "), (["--dry-run", "/nonexistent/access.log"], "<3>goatimport: ")] {
                let process = Process()
                let err = Pipe()
                fstat(err.fileHandleForWriting.fileDescriptor, &st)
                // (A stream that is not stderr's must not count.)
                environment["JOURNAL_STREAM"] = journal ? "\(st.st_dev):\(st.st_ino)" : "\(st.st_dev):\(st.st_ino + 1)"
                process.executableURL = URL(fileURLWithPath: bin)
                process.arguments = arguments
                process.environment = environment
                process.standardOutput = FileHandle.nullDevice
                process.standardError = err
                try process.run()
                try err.fileHandleForWriting.close()
                let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                let lines = text.split(separator: "\n")
                #expect(!lines.isEmpty)
                if journal {
                    #expect(lines.allSatisfy { $0.hasPrefix("<") }, "every line has a priority: \(text)")
                    #expect(lines.contains { $0.hasPrefix(want) }, "\(want) in \(text)")
                } else {
                    #expect(!text.contains("<6>") && !text.contains("<3>"), "\(text)")
                }
            }
        }
    }
}

/// A unix datagram socket the test reads notifications from.
final class DatagramListener {
    let fd: Int32

    convenience init(path: String) throws { try self.init(bytes: Array(path.utf8) + [0]) }
    convenience init(abstract name: String) throws { try self.init(bytes: [0] + Array(name.utf8)) }

    private init(bytes: [UInt8]) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count - (bytes[0] == 0 ? 0 : 1))
        let status = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        if status != 0 { throw SystemError(errno: errno, context: "bind") }
    }

    deinit { close(fd) }

    /// Messages received until `done` holds for those received in this call, or 60 s passed
    /// (a loaded machine runs the whole suite at once).
    func receive(until done: ([String]) -> Bool) -> [String] {
        var got: [String] = []
        let deadline = Date().addingTimeInterval(60)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !done(got), Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 200) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { got.append(String(decoding: buffer[0..<n], as: UTF8.self)) }
        }
        return got
    }
}
