import Foundation
import Testing

/// docs/goatimport.1 is written by hand, so these tests hold it to the binary: the binary's own
/// description of its options (`--experimental-dump-help`, what the help text is made from)
/// against the page's `.It Fl` entries, and `--version` against the page's `.Os` line.
struct ManPageTests {
    let bin = TestPaths.binary
    let pagePath = TestPaths.root.appendingPathComponent("docs/goatimport.1").path

    /// Every option and flag name of every command ("--format", "-v"), and every subcommand
    /// by its path below the root ("verify", "sites create").
    private func binaryNames() throws -> (options: [String: Set<String>], commands: Set<String>) {
        let r = try run(bin, ["--experimental-dump-help"])
        #expect(r.status == 0)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        var options: [String: Set<String>] = [:]  // name -> the commands that have it
        var commands: Set<String> = []
        func walk(_ command: [String: Any], path: String) {
            let name = command["commandName"] as? String ?? "?"
            let here = path.isEmpty ? name : path + " " + name
            if !path.isEmpty { commands.insert(String(here.drop { $0 != " " }.dropFirst())) }
            for argument in command["arguments"] as? [[String: Any]] ?? [] {
                guard argument["shouldDisplay"] as? Bool ?? true, argument["kind"] as? String != "positional" else { continue }
                for n in argument["names"] as? [[String: Any]] ?? [] {
                    let text = n["name"] as? String ?? ""
                    let flag = n["kind"] as? String == "short" ? "-" + text : "--" + text
                    options[flag, default: []].insert(here)
                }
            }
            for sub in command["subcommands"] as? [[String: Any]] ?? [] { walk(sub, path: here) }
        }
        walk(root["command"] as? [String: Any] ?? [:], path: "")
        return (options, commands)
    }

    /// The names the page defines: `.It Fl -format Ar format` and `.It Fl v , Fl -verbose`.
    private func pageOptions(_ page: String) -> Set<String> {
        var names: Set<String> = []
        for line in page.split(separator: "\n") where line.hasPrefix(".It ") {
            let words = line.split(separator: " ").map(String.init)
            for (i, word) in words.enumerated() where word == "Fl" && i + 1 < words.count {
                names.insert("-" + words[i + 1])
            }
        }
        return names
    }

    @Test("the man page defines every option the binary has, and no other")
    func optionsMatch() throws {
        let page = try String(contentsOfFile: pagePath, encoding: .utf8)
        let (options, _) = try binaryNames()
        let documented = pageOptions(page)
        let missing = options.keys.filter { !documented.contains($0) }.sorted()
        #expect(missing.isEmpty, "docs/goatimport.1 lacks an .It Fl entry for: \(missing.map { "\($0) (\(options[$0]!.sorted().joined(separator: ", ")))" })")
        // The argument parser accepts this on the root command but leaves it out of its dump.
        let unlisted: Set<String> = ["--generate-completion-script"]
        let stale = documented.filter { options[$0] == nil && !unlisted.contains($0) }.sorted()
        #expect(stale.isEmpty, "docs/goatimport.1 documents options the binary does not have: \(stale)")
    }

    @Test("the man page names every subcommand")
    func subcommandsMatch() throws {
        let page = try String(contentsOfFile: pagePath, encoding: .utf8)
        let (_, commands) = try binaryNames()
        // "sites create" may be written `.Cm sites create`, and "sites list" `.Cm sites Op Cm list`.
        let missing = commands.filter { path in
            !page.contains("Cm \(path)") && !page.contains("Cm \(path.split(separator: " ").last!)")
        }.sorted()
        #expect(missing.isEmpty, "docs/goatimport.1 does not name these subcommands with Cm: \(missing)")
    }

    @Test("the man page's version is the binary's (Version.swift)")
    func versionMatches() throws {
        let page = try String(contentsOfFile: pagePath, encoding: .utf8)
        let r = try run(bin, ["--version"])
        #expect(r.status == 0)
        let version = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!version.isEmpty)
        let os = page.split(separator: "\n").first { $0.hasPrefix(".Os ") }
        #expect(os.map(String.init) == ".Os goatimport \(version)",
                "docs/goatimport.1: .Os must read \"goatimport \(version)\" as `goatimport --version` does")
    }

    @Test("the man page renders without warnings")
    func renders() throws {
        // groff-base is on every Debian machine that has man-db; scripts/setup installs it otherwise.
        let groff = ["/usr/bin/groff", "/bin/groff"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = try #require(groff, "groff is missing: run scripts/setup")
        let r = try run(path, ["-mandoc", "-Tutf8", "-ww", "-z", pagePath])
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty, "groff: \(r.stderr)")
    }

    @Test("the bash completion script parses")
    func bashCompletion() throws {
        let r = try run(bin, ["--generate-completion-script", "bash"])
        #expect(r.status == 0 && r.stdout.contains("goatimport"))
        let dir = TestPaths.tempDir()
        let script = dir.appendingPathComponent("goatimport.bash").path
        try Data(r.stdout.utf8).write(to: URL(fileURLWithPath: script))
        let check = try run("/bin/bash", ["-n", script])
        #expect(check.status == 0, "bash -n: \(check.stderr)")
    }
}
