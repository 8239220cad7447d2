import Foundation
import Testing
@testable import GoatImportCore

/// Inputs scripts/fuzz.sh found crashing, kept as tests (reduced to the line that mattered).
struct FuzzRegressionTests {
    @Test("a JSON status of a hundred digits is a bad status, not an arithmetic overflow", arguments: ["nginx-json", "caddy"])
    func hugeStatus(_ format: String) throws {
        let digits = String(repeating: "2", count: 100)
        let nginx = #"{"time_iso8601":"2026-11-27T18:49:43+01:00","remote_addr":"127.0.0.1","request_method":"GET","request_uri":"/app","status":"# + digits + #","http_user_agent":"Mozilla/5.0"}"#
        let caddy = #"{"ts":1795801783.7,"request":{"remote_ip":"127.0.0.1","method":"GET","uri":"/app","headers":{"User-Agent":["Mozilla/5.0"]}},"status":"# + digits + "}"
        let (sink, summary) = try importLines([format == "caddy" ? caddy : nginx], format: format)
        #expect(sink.hits.isEmpty)
        #expect(summary.lines == 1 && summary.hits == 0)
    }

    @Test("the static-file table is built from each extension's own bytes (ASan: use after free before)")
    func staticExtensions() {
        let table = StaticFiles(extensions: ["css", "woff2", "JPEG", "toolongext"])
        for ext in ["css", "woff2", "jpeg"] {
            #expect(table.contains(Array(ext.utf8).withUnsafeBufferPointer { StaticFiles.pack($0.baseAddress!, $0.count) }), "\(ext)")
        }
        #expect(!table.contains(Array("html".utf8).withUnsafeBufferPointer { StaticFiles.pack($0.baseAddress!, $0.count) }))
    }
}
