/// A telephone number in E.164 form (`+12025550143`).
///
/// `init(parsing:)` accepts what operators' exports contain:
/// - NANP numbers of 10 digits (`2025550143`) or 11 with a leading 1 (`12025550143`),
///   with punctuation (`(202) 555-0143`, `202.555.0143`, `+1 202-555-0143`);
///   area code and exchange must start with 2–9 and not be an N11 service code
///   (211…911). Other codes, like the `999` area code of Plum's documented examples, are accepted.
/// - international numbers written with `+`: country code not starting with 0,
///   7 to 15 digits in all (E.164 allows 15; 7 is the shortest real numbering plan).
/// Spaces, tabs, `-`, `.`, `(`, `)` and `/` are ignored between digits.
public struct PhoneNumber: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// `+` followed by 7 to 15 digits.
    public let e164: String

    public init(parsing text: String) throws(PhoneNumberError) {
        self.e164 = try Self.normalize(text)
    }

    public var description: String { e164 }

    /// The 10-digit national form of a +1 number (what Plum's API shows), else nil.
    public var nanpNational: String? {
        guard e164.hasPrefix("+1"), e164.utf8.count == 12 else { return nil }
        return String(e164.dropFirst(2))
    }

    public static func < (a: PhoneNumber, b: PhoneNumber) -> Bool { a.e164 < b.e164 }

    static let minimumInternationalDigits = 7
    static let maximumInternationalDigits = 15

    private static func normalize(_ text: String) throws(PhoneNumberError) -> String {
        var digits: [UInt8] = []
        var plus = false
        var sawDigit = false
        for scalar in text.unicodeScalars {
            switch scalar {
            case "0"..."9":
                digits.append(UInt8(scalar.value))
                sawDigit = true
            case "+":
                guard !plus && !sawDigit else { throw .misplacedPlus }
                plus = true
            case " ", "\t", "-", ".", "(", ")", "/":
                continue
            default:
                if scalar.properties.isAlphabetic { throw .containsLetters }
                throw .invalidCharacter(Character(scalar))
            }
        }
        guard !digits.isEmpty else { throw .empty }
        let number = String(decoding: digits, as: UTF8.self)
        if plus {
            if digits[0] == UInt8(ascii: "1") {
                guard digits.count == 11 else {
                    throw digits.count < 11 ? .tooShort(digits: digits.count) : .tooLong(digits: digits.count)
                }
                try checkNANP(Array(digits.dropFirst()))
                return "+" + number
            }
            guard digits[0] != UInt8(ascii: "0") else { throw .countryCodeStartsWithZero }
            guard digits.count >= minimumInternationalDigits else { throw .tooShort(digits: digits.count) }
            guard digits.count <= maximumInternationalDigits else { throw .tooLong(digits: digits.count) }
            return "+" + number
        }
        switch digits.count {
        case 10:
            try checkNANP(digits)
            return "+1" + number
        case 11 where digits[0] == UInt8(ascii: "1"):
            try checkNANP(Array(digits.dropFirst()))
            return "+" + number
        case 11:
            throw .notNANP
        case ..<10:
            throw .tooShort(digits: digits.count)
        default:
            throw .tooLong(digits: digits.count)
        }
    }

    /// Checks a 10-digit NANP number NPA-NXX-XXXX.
    private static func checkNANP(_ d: [UInt8]) throws(PhoneNumberError) {
        let area = String(decoding: d[0..<3], as: UTF8.self)
        let exchange = String(decoding: d[3..<6], as: UTF8.self)
        let zero = UInt8(ascii: "0"), one = UInt8(ascii: "1")
        if d[0] == zero || d[0] == one { throw .areaCodeStartsWith(area) }
        if d[1] == one && d[2] == one { throw .serviceCode(area, part: "area code") }
        if d[3] == zero || d[3] == one { throw .exchangeStartsWith(exchange) }
        if d[4] == one && d[5] == one { throw .serviceCode(exchange, part: "exchange") }
    }
}

/// Why a text is not a phone number; `description` is a sentence for the operator.
public enum PhoneNumberError: Error, Sendable, Hashable, CustomStringConvertible {
    case empty
    case containsLetters
    case invalidCharacter(Character)
    case misplacedPlus
    case tooShort(digits: Int)
    case tooLong(digits: Int)
    case notNANP
    case countryCodeStartsWithZero
    case areaCodeStartsWith(String)
    case exchangeStartsWith(String)
    case serviceCode(String, part: String)

    public var description: String {
        switch self {
        case .empty: "no digits"
        case .containsLetters: "contains letters"
        case let .invalidCharacter(c): "invalid character '\(c)'"
        case .misplacedPlus: "'+' may only start the number"
        case let .tooShort(n): "too short (\(n) digits; a NANP number has 10, an international one starts with + and has at least \(PhoneNumber.minimumInternationalDigits))"
        case let .tooLong(n): "too long (\(n) digits; E.164 allows at most \(PhoneNumber.maximumInternationalDigits))"
        case .notNANP: "11 digits not starting with 1: write international numbers with a leading +"
        case .countryCodeStartsWithZero: "country code cannot start with 0"
        case let .areaCodeStartsWith(code): "area code \(code) cannot start with 0 or 1"
        case let .exchangeStartsWith(code): "exchange \(code) cannot start with 0 or 1"
        case let .serviceCode(code, part): "\(part) \(code) is an N11 service code"
        }
    }
}
