import Support

/// A provider's refusal or failure report: raw as given (Restcomm's code as text, e.g. "30006";
/// Plum's error text) and normalised. A phone number quoted in the raw code or the message
/// becomes `[number]` (`PhoneNumberScrubbing`): these texts are stored, grouped in reports and
/// logged, and a recipient's number belongs in none of them.
public struct ProviderFailure: Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    /// Restcomm: the numeric code as text. Plum: the error text.
    public var rawCode: String?
    /// Human-readable text from the provider, if any.
    public var message: String?
    public var httpStatus: Int?

    public init(code: ErrorCode, rawCode: String? = nil, message: String? = nil, httpStatus: Int? = nil) {
        self.code = code
        self.rawCode = rawCode.map(PhoneNumberScrubbing.scrub)
        self.message = message.map(PhoneNumberScrubbing.scrub)
        self.httpStatus = httpStatus
    }

    public var rule: ErrorRule { ErrorPolicy.rule(for: code) }

    public var description: String {
        "\(code.rawValue)" + (rawCode.map { " (\($0))" } ?? "") + (httpStatus.map { " HTTP \($0)" } ?? "")
    }
}
