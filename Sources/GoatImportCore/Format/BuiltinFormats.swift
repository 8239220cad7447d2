/// The formats that need no `--format` string: parsed once from the embedded `formats/` files.
public enum BuiltinFormats {
    /// In the order `goatimport formats` lists them.
    public static let all: [LogFormat] = {
        let order = ["combined", "common", "combined-vhost", "common-vhost", "caddy", "caddy-console", "nginx-json",
                     "traefik", "haproxy", "elb", "alb", "cloudfront", "s3", "w3c", "bunny", ExportRecordParser.format.name]
        let formats = embedded.map { entry -> LogFormat in
            do { return try FormatFile.parse(entry.text, name: entry.file) } catch {
                fatalError("built-in format \(entry.file) is broken: \(error)")
            }
        }
        return (formats + [ExportRecordParser.format]).sorted { (order.firstIndex(of: $0.name) ?? order.count, $0.name) < (order.firstIndex(of: $1.name) ?? order.count, $1.name) }
    }()

    /// Without `--format`: the built-in format that reads the log's first lines best.
    public static let autoName = "auto"
    /// What `auto` falls back to when there is no line to look at (an empty live log).
    public static let fallbackName = "combined"

    public static func named(_ name: String) -> LogFormat? { all.first { $0.name == name } }
}
