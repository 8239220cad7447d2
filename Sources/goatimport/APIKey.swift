import ArgumentParser
import Foundation

/// The API key comes from the environment or a file, never from argv (where `ps` shows it).
enum APIKey {
    static let environmentVariable = "GOATCOUNTER_API_KEY"

    static func load(file: String?, environment variable: String = environmentVariable) throws -> String {
        if let file {
            var st = stat()
            guard stat(file, &st) == 0 else {
                throw ValidationError("--api-key-file \(file): \(String(cString: strerror(errno)))")
            }
            if st.st_mode & 0o077 != 0 {
                printError("goatimport: warning: \(file) can be read by other users; chmod 600 it")
            }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("--api-key-file \(file): cannot read it")
            }
            let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !key.isEmpty else { throw ValidationError("--api-key-file \(file): the file is empty") }
            return key
        }
        if let key = ProcessInfo.processInfo.environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines),
           !key.isEmpty {
            return key
        }
        throw ValidationError("no API key: set \(variable) or pass --api-key-file PATH (a file with the key, mode 0600)")
    }
}
