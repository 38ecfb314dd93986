/// Who a message goes to: a phone number, or a Restcomm client (`client:NAME`).
public enum Recipient: Sendable, Hashable, CustomStringConvertible {
    case phone(PhoneNumber)
    case client(String)

    public static let clientPrefix = "client:"
    static let maxClientNameLength = 64

    /// Parses a `to` value. `client:NAME` needs a kind that accepts client recipients;
    /// NAME is 1–64 of `A-Z a-z 0-9 _ - . @`.
    public init(parsing text: String, kind: ProviderKind?) throws(RecipientError) {
        let trimmed = text.trimmingASCIISpaces()
        if trimmed.lowercased().hasPrefix(Self.clientPrefix) {
            let name = String(trimmed.dropFirst(Self.clientPrefix.count))
            if let kind, !kind.acceptsClientRecipients {
                throw .clientNotSupported(kind)
            }
            guard !name.isEmpty else { throw .invalidClientName("empty name") }
            guard name.unicodeScalars.count <= Self.maxClientNameLength else {
                throw .invalidClientName("longer than \(Self.maxClientNameLength) characters")
            }
            let allowed = name.unicodeScalars.allSatisfy { s in
                s.isASCII && (s.properties.isAlphabetic || ("0"..."9").contains(s) || "_-.@".unicodeScalars.contains(s))
            }
            guard allowed else { throw .invalidClientName("only letters, digits, '_', '-', '.' and '@' are allowed") }
            self = .client(name)
            return
        }
        do {
            self = .phone(try PhoneNumber(parsing: trimmed))
        } catch {
            throw .invalidNumber(error)
        }
    }

    /// The address as providers take it: E.164, or `client:NAME`.
    public var address: String {
        switch self {
        case let .phone(number): number.e164
        case let .client(name): Self.clientPrefix + name
        }
    }

    public var description: String { address }
}

public enum RecipientError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidNumber(PhoneNumberError)
    case clientNotSupported(ProviderKind)
    case invalidClientName(String)

    public var description: String {
        switch self {
        case let .invalidNumber(e): "invalid phone number: \(e)"
        case let .clientNotSupported(p): "client: recipients are only valid with provider restcomm, not \(p)"
        case let .invalidClientName(why): "invalid client name: \(why)"
        }
    }
}
