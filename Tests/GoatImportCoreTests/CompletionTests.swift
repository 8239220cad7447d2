import Testing
@testable import GoatImportCore

/// The generated shell completions offer the values the options accept, read from the same
/// registries the options validate against.
struct CompletionTests {
    /// How swift-argument-parser's bash script lists a `.list` completion's words.
    func bashWords(_ words: [String]) -> String {
        "-W " + words.map { "'\($0)'" }.joined(separator: "$'\\n'")
    }

    @Test("bash completion offers format names, --keep filters, --from and --sessions values")
    func bashOffersValues() throws {
        let r = try run(TestPaths.binary, ["--generate-completion-script", "bash"])
        #expect(r.status == 0)
        let formats = [BuiltinFormats.autoName] + BuiltinFormats.all.map(\.name)
        #expect(formats.count > 10)
        for words in [formats, SkipReason.defaultFilters.map(\.name),
                      FileFollower.StartPosition.allCases.map(\.rawValue), ["on", "off"]] {
            #expect(r.stdout.contains(bashWords(words)), "no completion of \(words)")
        }
        for value in ["--from", "--sessions", "--keep", "--format"] {
            #expect(r.stdout.contains(value))
        }
    }
}
