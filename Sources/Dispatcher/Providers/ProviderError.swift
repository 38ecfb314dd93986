public import HTTP

/// Why a status lookup or list failed.
public enum ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    case transport(HTTPClientError)
    case rejected(ProviderFailure)
    case notFound
    case invalidAnswer(String)

    public var description: String {
        switch self {
        case .transport(let error): "transport: \(error)"
        case .rejected(let failure): "rejected: \(failure)"
        case .notFound: "not found"
        case .invalidAnswer(let why): "invalid answer: \(why)"
        }
    }
}
