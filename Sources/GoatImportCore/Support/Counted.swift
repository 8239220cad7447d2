/// The one way a count is printed: digits grouped by thousands and the noun agreeing with the
/// number, so no report says "1 requests" or "1234 hits" beside "1,234 lines".
public func counted(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
    "\(grouped(n)) \(noun(n, singular, plural))"
}

/// The noun alone, for a count printed apart (right-aligned in a column, or not printed).
public func noun(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
    n == 1 ? singular : plural ?? singular + "s"
}

/// 1234567 → "1,234,567".
public func grouped(_ n: Int) -> String {
    let digits = String(n)
    var out = ""
    for (i, c) in digits.reversed().enumerated() {
        if i > 0 && i % 3 == 0 && c != "-" { out.append(",") }
        out.append(c)
    }
    return String(out.reversed())
}
