/// Provider texts that may quote a recipient's number (Plum's "To number: +12025550143, is
/// not a mobile number") with every number replaced by `[number]`, so the text can be stored,
/// grouped in reports and logged without the number.
///
/// A number is a `+` or a digit, then digits with at most two of ` ().-` between two of them,
/// 7 digits or more in all: `+12025550143`, `202-555-0143`, `(202) 555 0143` (its opening
/// parenthesis stays). Shorter digit runs (error codes such as `30006`, HTTP statuses) stay.
/// The same rule as a PostgreSQL regular expression is `pattern`.
public enum PhoneNumberScrubbing {
    public static let replacement = "[number]"
    /// The rule for `regexp_replace(text, pattern, '[number]', 'g')`.
    public static let pattern = #"\+?[0-9](?:[ ().-]{0,2}[0-9]){6,}"#
    static let minimumDigits = 7

    public static func scrub(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        func isDigit(_ i: Int) -> Bool { i < scalars.count && scalars[i].value >= 0x30 && scalars[i].value <= 0x39 }
        func isSeparator(_ i: Int) -> Bool { i < scalars.count && " ().-".unicodeScalars.contains(scalars[i]) }
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            let start = i
            var j = scalars[i] == "+" && isDigit(i + 1) ? i + 1 : i
            guard isDigit(j) else {
                out.append(scalars[i])
                i += 1
                continue
            }
            var digits = 0
            var end = j
            while true {
                while isDigit(j) { digits += 1; j += 1 }
                end = j
                var k = j
                while k - j < 2 && isSeparator(k) { k += 1 }
                if k > j && isDigit(k) { j = k } else { break }
            }
            if digits >= minimumDigits {
                out.append(contentsOf: replacement.unicodeScalars)
            } else {
                out.append(contentsOf: scalars[start..<end])
            }
            i = end
        }
        return String(out)
    }
}
