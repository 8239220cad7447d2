import Foundation
import Testing
@testable import GoatImportCore

/// `--format @file` with a format as it is copied from the server's config.
struct PastedFormatTests {
    /// Writes `text` to a format file and imports `log` through `@file`.
    func importThrough(_ text: String, _ log: String) throws -> CollectingSink {
        let file = TestPaths.tempDir().appendingPathComponent("pasted.conf")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return try importFiles([TestPaths.fixture(log)], format: "@" + file.path).sink
    }

    func paths(_ sink: CollectingSink) -> [String] { sink.hits.compactMap { $0["path"] as? String } }

    @Test("nginx's log_format directive, in quoted parts over several lines, reads as its joined string")
    func nginxDirective() throws {
        let directive = """
            # from nginx.conf
            log_format  custom  '$remote_addr - $remote_user [$time_local] "$request" '
                                '$status $body_bytes_sent "$http_referer" '
                                "\\"$http_user_agent\\" \\"$http_x_forwarded_for\\" $host";
            """
        let pasted = try importThrough(directive, "nginx/custom.log")
        let format = try String(contentsOfFile: TestPaths.fixture("nginx/custom.format"), encoding: .utf8)
        let expected = try importFiles([TestPaths.fixture("nginx/custom.log")], format: "nginx:" + format.trimmingCharacters(in: .newlines)).sink
        #expect(!pasted.hits.isEmpty)
        #expect(paths(pasted) == paths(expected))
        #expect(pasted.hits.map { $0["user_agent"] as? String } == expected.hits.map { $0["user_agent"] as? String })
    }

    @Test("log_format escape=json reads JSON escapes; an unknown escape= is named with its line")
    func nginxEscapeJSON() throws {
        let format = try String(contentsOfFile: TestPaths.fixture("nginx/json.format"), encoding: .utf8)
        let file = TestPaths.tempDir().appendingPathComponent("json.conf")
        try "log_format json escape=json\n  '\(format.trimmingCharacters(in: .newlines))';\n".write(to: file, atomically: true, encoding: .utf8)
        #expect(try LogFormat.resolve("@" + file.path).escapes == .json)
        let pasted = try importFiles([TestPaths.fixture("nginx/json.log")], format: "@" + file.path).sink
        let builtin = try importFiles([TestPaths.fixture("nginx/json.log")], format: "nginx-json").sink
        #expect(!pasted.hits.isEmpty)
        #expect(paths(pasted) == paths(builtin))
        try "log_format x\n escape=yaml '$request';".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: FormatError.badFormatFile(file.path, line: 2, "escape= must be default, json or none")) {
            try LogFormat.resolve("@" + file.path)
        }
        try "log_format x '$request\n;".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: FormatError.badFormatFile(file.path, line: 1, "the string opened with ' is never closed")) {
            try LogFormat.resolve("@" + file.path)
        }
    }

    @Test("a file holding the command-line form nginx:'…' loses its shell quotes (it matched nothing before)")
    func quotedCommandLineForm() throws {
        let format = try String(contentsOfFile: TestPaths.fixture("nginx/combined.format"), encoding: .utf8)
        let pasted = try importThrough("nginx:'\(format.trimmingCharacters(in: .newlines))'\n", "nginx/combined.log")
        let builtin = try importFiles([TestPaths.fixture("nginx/combined.log")], format: "combined").sink
        #expect(!pasted.hits.isEmpty)
        #expect(paths(pasted) == paths(builtin))
        #expect(PastedFormat.shellUnquoted(#"'a "b"'" \"c\" \x"d"#) == #"a "b" "c" \xd"#)
    }

    @Test("Apache's LogFormat line, with its \\\" escapes and nickname, reads as the format string")
    func apacheDirective() throws {
        let format = try String(contentsOfFile: TestPaths.fixture("apache/custom.format"), encoding: .utf8)
            .trimmingCharacters(in: .newlines)
        let quoted = format.replacingOccurrences(of: "\"", with: "\\\"")
        let pasted = try importThrough("LogFormat \"\(quoted)\" custom\n", "apache/custom.log")
        let expected = try importFiles([TestPaths.fixture("apache/custom.log")], format: "apache:" + format).sink
        #expect(!pasted.hits.isEmpty)
        #expect(paths(pasted) == paths(expected))
        #expect(pasted.hits.map { $0["user_agent"] as? String } == expected.hits.map { $0["user_agent"] as? String })
    }
}
