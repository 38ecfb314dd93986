import Foundation
public import HTTP

extension ProviderConfiguration {
    /// The client for this account.
    public func makeClient(http: HTTPClient) -> any SMSProvider {
        let timeout = Duration.milliseconds(Int64((timeoutSeconds * 1000).rounded()))
        switch kind {
        case .plum:
            return PlumClient(name: name, configuration: .init(baseURL: baseURL, username: username, password: password.value,
                                                               timeout: timeout), http: http)
        case .restcomm:
            return RestcommClient(name: name, configuration: .init(baseURL: baseURL, accountSID: accountSID,
                                                                   authToken: authToken.value, timeout: timeout), http: http)
        case .null:
            return NullProvider(name: name)
        }
    }
}
