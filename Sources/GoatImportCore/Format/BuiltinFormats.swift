/// The formats that need no `--format` string: parsed once from the embedded `formats/` files.
public enum BuiltinFormats {
    /// In the order `goatimport formats` lists them.
    public static let all: [LogFormat] = {
        let order = ["combined", "common", "combined-vhost", "common-vhost", "caddy"]
        let formats = embedded.map { entry -> LogFormat in
            do { return try FormatFile.parse(entry.text, name: entry.file) } catch {
                fatalError("built-in format \(entry.file) is broken: \(error)")
            }
        }
        return formats.sorted { (order.firstIndex(of: $0.name) ?? order.count, $0.name) < (order.firstIndex(of: $1.name) ?? order.count, $1.name) }
    }()

    public static let defaultName = "combined"
}
