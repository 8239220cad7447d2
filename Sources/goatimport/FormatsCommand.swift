import ArgumentParser
import GoatImportCore

struct Formats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the built-in log formats.")

    @Flag(name: .long, help: "Show each format's pattern too.")
    var showPattern = false

    func run() throws {
        print("\(BuiltinFormats.autoName.padding(toLength: 16, withPad: " ", startingAt: 0)) (the default) the format below that reads the log's first 50 lines best; `goatimport check FILE` shows which")
        for format in BuiltinFormats.all {
            print("\(format.name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(format.summary)")
            if showPattern { print(format.patternText.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")) }
        }
        print("""

        Or give your server's own format:
          --format nginx:'$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
          --format apache:'%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"'
          --format regex:'^(?<remote_addr>\\S+) .*?\\[(?<time_local>[^]]+)\\] "(?<request>[^"]*)" (?<status>\\d+)'
          --format @file   (a file holding one of the above, or a .format file like those in formats/)
        Group names: \(LogField.allCases.map(\.name).joined(separator: ", ")).
        """)
    }
}
