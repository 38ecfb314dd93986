// Fuzz target `config`: the worker's configuration file (DispatcherConfiguration.parse,
// Sources/Dispatcher/Config), with and without secrets required.
//
// Checks beyond "does not crash": an error names the file; a configuration that loads
// describes itself without any secret's value, and its routing and rate limits are sane.
import Foundation
@testable import Dispatcher

private let environment = ["PLUM_PASSWORD": "env-secret-plum-0001", "RESTCOMM_TOKEN": "env-secret-token-0002"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for needsSecrets in [true, false] {
        let c: DispatcherConfiguration
        do {
            c = try DispatcherConfiguration.parse(bytes, file: "fuzz.json", environment: environment, needsSecrets: needsSecrets)
        } catch {
            if !error.description.hasPrefix("fuzz.json") { fatalError("error without the file: \(error)") }
            continue
        }
        let text = c.description
        // (unless the file itself spells a secret's value out, as a user name say)
        for secret in environment.values where text.contains(secret) && !String(decoding: bytes, as: UTF8.self).contains(secret) { fatalError("description shows a secret: \(text)") }
        _ = c.providerAccounts
        for (number, sender) in c.senders {
            if sender.number != number || !number.hasPrefix("+") { fatalError("sender \(number) as \(sender.number)") }
            if c.rateLimit(sender: number).burst < 1 || !(c.rateLimit(sender: number).perSecond > 0) { fatalError("rate of \(number)") }
        }
        if c.concurrency < 1 || c.retry.maxAttempts < 1 || !(c.leaseSeconds >= 1) { fatalError("limits below their minimum: \(text)") }
        for p in c.accounts.values where !(p.timeoutSeconds > 0) || c.leaseSeconds < p.timeoutSeconds + 2 {
            fatalError("provider \(p.name): timeout \(p.timeoutSeconds) with lease \(c.leaseSeconds)")
        }
    }
    return 0
}
